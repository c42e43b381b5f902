#include <catch2/catch.hpp>

#include "runtime/core/errors.hpp"
#include "runtime/aggregation/staleness.hpp"

using namespace fl;
using Catch::Matchers::WithinRel;

TEST_CASE("constant staleness is always 1", "[staleness]") {
  staleness_fn s{staleness_kind::constant, 0.5, 4};
  CHECK(s(0) == 1.0);
  CHECK(s(1000) == 1.0);
}

TEST_CASE("polynomial staleness is (s + 1)^-a", "[staleness]") {
  staleness_fn s{staleness_kind::polynomial, 0.5, 0};
  CHECK(s(0) == 1.0);
  CHECK_THAT(s(3), WithinRel(0.5, 1e-12));         // 4^-0.5
  CHECK_THAT(s(8), WithinRel(1.0 / 3.0, 1e-12));   // 9^-0.5
  staleness_fn s2{staleness_kind::polynomial, 2, 0};
  CHECK_THAT(s2(1), WithinRel(0.25, 1e-12));       // 2^-2
}

TEST_CASE("hinge staleness follows the FedAsync paper at its boundary",
          "[staleness]") {
  // s = 1 if staleness <= b, else 1 / (a (staleness - b) + 1).
  staleness_fn s{staleness_kind::hinge, 10, 4};
  CHECK(s(0) == 1.0);
  CHECK(s(4) == 1.0);                              // at b: still 1
  CHECK_THAT(s(5), WithinRel(1.0 / 11.0, 1e-12));  // a (5 - 4) + 1 = 11
  CHECK_THAT(s(6), WithinRel(1.0 / 21.0, 1e-12));
  // Not FedLab's variant, which would give 1 / (10 * (5 - 4 + 1)) = 1/20.
  CHECK(s(5) != Approx(1.0 / 20.0));
}

TEST_CASE("staleness names parse and bad parameters are refused",
          "[staleness]") {
  CHECK(*parse_staleness_kind("hinge") == staleness_kind::hinge);
  CHECK(parse_staleness_kind("linear").error() == errc::invalid_config);
  CHECK(validate(staleness_fn{staleness_kind::hinge, -1, 4})
        == errc::invalid_config);
  CHECK(validate(staleness_fn{staleness_kind::hinge, 1, -4})
        == errc::invalid_config);
  CHECK(!validate(staleness_fn{staleness_kind::polynomial, 0.5, 0}));
}
