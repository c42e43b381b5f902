#include <catch2/catch.hpp>

#include <limits>
#include <vector>

#include "runtime/aggregation/aggregate.hpp"
#include "runtime/core/errors.hpp"

using namespace fl;
using Catch::Matchers::WithinAbs;

TEST_CASE("weighted accumulate and finalize give the weighted mean",
          "[aggregate]") {
  // Prepare: two clients, 100 and 300 samples.
  std::vector<float> a{1, 2, 3}, b{5, 6, 7}, acc(3, 0.f), out(3);
  // Execute
  REQUIRE(!weighted_accumulate(span<float>{acc}, span<const float>{a}, 100));
  REQUIRE(!weighted_accumulate(span<float>{acc}, span<const float>{b}, 300));
  REQUIRE(!finalize_average(span<const float>{acc}, 400, span<float>{out}));
  // Assert: (100 * 1 + 300 * 5) / 400 = 4, etc.
  CHECK_THAT(out[0], WithinAbs(4.0, 1e-6));
  CHECK_THAT(out[1], WithinAbs(5.0, 1e-6));
  CHECK_THAT(out[2], WithinAbs(6.0, 1e-6));
}

TEST_CASE("finalize works in place", "[aggregate]") {
  std::vector<float> acc{2, 4, 6};
  REQUIRE(!finalize_average(span<const float>{acc}, 2, span<float>{acc}));
  CHECK(acc == std::vector<float>{1, 2, 3});
}

TEST_CASE("aggregation refuses mismatched sizes and bad weights",
          "[aggregate]") {
  std::vector<float> acc(3, 0.f), x(4, 1.f), out(3);
  auto err = weighted_accumulate(span<float>{acc}, span<const float>{x}, 1);
  CHECK(err == errc::size_mismatch);
  CHECK(acc == std::vector<float>(3, 0.f)); // untouched
  CHECK(finalize_average(span<const float>{acc}, 0, span<float>{out})
        == errc::invalid_field);
  CHECK(mix(span<float>{acc}, span<const float>{acc}, 1.5)
        == errc::invalid_field);
}

TEST_CASE("FedAsync mix is (1 - alpha) w + alpha x", "[aggregate]") {
  std::vector<float> w{1, 2, 3}, x{3, 2, 1};
  REQUIRE(!mix(span<float>{w}, span<const float>{x}, 0.25));
  CHECK_THAT(w[0], WithinAbs(1.5, 1e-6));
  CHECK_THAT(w[1], WithinAbs(2.0, 1e-6));
  CHECK_THAT(w[2], WithinAbs(2.5, 1e-6));
  REQUIRE(!mix(span<float>{w}, span<const float>{x}, 0.0));
  CHECK_THAT(w[0], WithinAbs(1.5, 1e-6));
  REQUIRE(!mix(span<float>{w}, span<const float>{x}, 1.0));
  CHECK(w == x);
}

TEST_CASE("all_finite spots NaN and Inf anywhere", "[aggregate]") {
  std::vector<float> x(1001, 1.0f);
  CHECK(all_finite(span<const float>{x}));
  x[1000] = std::numeric_limits<float>::quiet_NaN();
  CHECK(!all_finite(span<const float>{x}));
  x[1000] = -std::numeric_limits<float>::infinity();
  CHECK(!all_finite(span<const float>{x}));
  x[1000] = std::numeric_limits<float>::max();
  CHECK(all_finite(span<const float>{x}));
}
