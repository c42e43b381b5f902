#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "runtime/aggregation/model_guard.hpp"
#include "runtime/core/errors.hpp"

using namespace fl;

TEST_CASE("norms and distances are accumulated in double",
          "[model_guard]") {
  std::vector<float> x{3, 4};
  std::vector<float> y{0, 0};
  CHECK(l2_norm(span<const float>{x}) == Approx(5));
  CHECK(l2_distance(span<const float>{x}, span<const float>{y})
        == Approx(5));
  std::vector<float> huge{3e38f, 3e38f};
  CHECK(std::isfinite(l2_norm(span<const float>{huge})));
}

TEST_CASE("a candidate must be finite and move the model within the bound",
          "[model_guard]") {
  std::vector<float> cur{3, 4}; // norm 5: bound 10 * 5 = 50
  std::vector<float> near{6, 8};
  std::vector<float> far{300, 400};
  std::vector<float> inf{std::numeric_limits<float>::infinity(), 0};
  std::vector<float> nan{std::nanf(""), 0};
  span<const float> c{cur};
  CHECK(!check_candidate(c, span<const float>{near}, 10));
  auto err = check_candidate(c, span<const float>{far}, 10);
  CHECK(err.code() == static_cast<uint8_t>(errc::rejected_model));
  CHECK_THAT(describe(err), Catch::Contains("more than the bound"));
  CHECK(check_candidate(c, span<const float>{inf}, 10).code()
        == static_cast<uint8_t>(errc::rejected_model));
  CHECK(check_candidate(c, span<const float>{nan}, 0).code()
        == static_cast<uint8_t>(errc::rejected_model));
  // Ratio 0: no bound on the change, finite values still required.
  CHECK(!check_candidate(c, span<const float>{far}, 0));
  // A zero model: the bound uses a norm of at least 1.
  std::vector<float> zero{0, 0};
  std::vector<float> small{1, 0};
  CHECK(!check_candidate(span<const float>{zero}, span<const float>{small},
                         2));
}

TEST_CASE("clipping scales a change down to the limit", "[model_guard]") {
  CHECK(clip_factor(10, 0) == 1);
  CHECK(clip_factor(10, 20) == 1);
  CHECK(clip_factor(10, 5) == Approx(0.5));
  CHECK(change_bound(0, 5) == std::numeric_limits<double>::infinity());
  CHECK(change_bound(2, 0.1) == Approx(2));
}
