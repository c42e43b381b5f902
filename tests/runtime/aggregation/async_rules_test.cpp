#include <catch2/catch.hpp>

#include "runtime/aggregation/async_rules.hpp"
#include "runtime/core/errors.hpp"

using namespace fl;
using Catch::Matchers::WithinAbs;

TEST_CASE("staleness is version minus base, bounded both ways",
          "[async]") {
  CHECK(*staleness_of(10, 10, 5) == 0);
  CHECK(*staleness_of(10, 7, 5) == 3);
  CHECK(*staleness_of(10, 5, 5) == 5); // at the bound: kept
  CHECK(staleness_of(10, 4, 5).error() == errc::too_stale);
  CHECK(staleness_of(10, 11, 5).error() == errc::version_from_future);
}

TEST_CASE("FedAsync mixes with alpha times s(staleness)", "[async]") {
  // Prepare: alpha 0.5, polynomial a = 1: s(3) = 1/4, so a_t = 0.125.
  fedasync_rule rule{0.5, staleness_fn{staleness_kind::polynomial, 1, 0}};
  CHECK_THAT(rule.weight(0), WithinAbs(0.5, 1e-12));
  CHECK_THAT(rule.weight(3), WithinAbs(0.125, 1e-12));
  std::vector<float> w{0, 8}, x{8, 0};
  // Execute
  REQUIRE(!rule.apply(span<float>{w}, span<const float>{x}, 3));
  // Assert: 0.875 * w + 0.125 * x
  CHECK_THAT(w[0], WithinAbs(1.0, 1e-6));
  CHECK_THAT(w[1], WithinAbs(7.0, 1e-6));
  // Hinge a = 10, b = 4: staleness 5 -> 1/11.
  fedasync_rule hinge{1.0, staleness_fn{staleness_kind::hinge, 10, 4}};
  CHECK_THAT(hinge.weight(4), WithinAbs(1.0, 1e-12));
  CHECK_THAT(hinge.weight(5), WithinAbs(1.0 / 11, 1e-12));
}

TEST_CASE("FedBuff applies exactly every K deltas, staleness-weighted",
          "[async]") {
  // Prepare: K = 3, eta = 1, hinge with b = 0, a = 1: s(0) = 1, s(1) = 1/2.
  fedbuff_rule rule{2, 3, 1.0, staleness_fn{staleness_kind::hinge, 1, 0}};
  std::vector<float> w{1, 1};
  std::vector<float> d1{3, 0}, d2{0, 3}, d3{6, 6};
  // Execute and assert step by step.
  REQUIRE(!rule.add(span<const float>{d1}, 0)); // weight 1
  CHECK(!rule.ready());
  REQUIRE(!rule.add(span<const float>{d2}, 0)); // weight 1
  CHECK(!rule.ready());
  CHECK(rule.buffered() == 2);
  REQUIRE(!rule.add(span<const float>{d3}, 1)); // weight 1/2
  CHECK(rule.ready());
  REQUIRE(!rule.apply(span<float>{w}));
  // Step = (1*d1 + 1*d2 + 0.5*d3) / K = ([3,0]+[0,3]+[3,3]) / 3 = [2, 2]
  CHECK_THAT(w[0], WithinAbs(3.0, 1e-6));
  CHECK_THAT(w[1], WithinAbs(3.0, 1e-6));
  CHECK(rule.buffered() == 0);
  CHECK(!rule.ready());
  CHECK(rule.apply(span<float>{w}) == errc::invalid_field); // empty buffer
  std::vector<float> wrong(3);
  CHECK(rule.add(span<const float>{wrong}, 0) == errc::size_mismatch);
}

TEST_CASE("FedBuff's server learning rate scales the step", "[async]") {
  fedbuff_rule rule{1, 1, 0.5, staleness_fn{}};
  std::vector<float> w{0}, d{4};
  REQUIRE(!rule.add(span<const float>{d}, 7));
  REQUIRE(!rule.apply(span<float>{w}));
  CHECK_THAT(w[0], WithinAbs(2.0, 1e-6));
}
