#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "runtime/aggregation/server_optimizer.hpp"

using namespace fl;

TEST_CASE("FedAvgM: v = beta v + delta, x = x + lr v", "[server-optimizer]") {
  auto opt = make_server_momentum(0.5, 0.9);
  std::vector<float> x{1.0f};
  std::vector<float> next{3.0f}; // delta 2
  opt->step(span<const float>{x}, span<float>{next});
  // v = 2, x = 1 + 0.5 * 2 = 2.
  CHECK(next[0] == Approx(2.0));
  x = next;
  next = {2.0f}; // delta 0: momentum alone moves it
  opt->step(span<const float>{x}, span<float>{next});
  // v = 0.9 * 2 + 0 = 1.8, x = 2 + 0.9 = 2.9.
  CHECK(next[0] == Approx(2.9));
  auto st = opt->state();
  REQUIRE(st.size() == 1);
  CHECK((*st[0].second)[0] == Approx(1.8));
}

TEST_CASE("FedAdam, FedYogi and FedAdagrad follow Reddi et al. on hand "
          "numbers",
          "[server-optimizer]") {
  const double lr = 0.1, b1 = 0.9, b2 = 0.99, tau = 0.01;
  std::vector<float> x{0.0f};
  // delta = 1. m = 0.1. v starts at tau^2 = 1e-4.
  SECTION("adam") {
    auto opt = make_adaptive_optimizer(adaptive_kind::adam, lr, b1, b2, tau);
    std::vector<float> next{1.0f};
    opt->step(span<const float>{x}, span<float>{next});
    const double v = 0.99 * 1e-4 + 0.01 * 1.0; // 0.010099
    CHECK(next[0] == Approx(lr * 0.1 / (std::sqrt(v) + tau)).epsilon(1e-5));
  }
  SECTION("yogi") {
    auto opt = make_adaptive_optimizer(adaptive_kind::yogi, lr, b1, b2, tau);
    std::vector<float> next{1.0f};
    opt->step(span<const float>{x}, span<float>{next});
    // v - d^2 < 0, so v = v + (1 - b2) d^2 = 1e-4 + 0.01.
    const double v = 1e-4 + 0.01;
    CHECK(next[0] == Approx(lr * 0.1 / (std::sqrt(v) + tau)).epsilon(1e-5));
    // Second step with delta 0 from the same x: m = 0.09, v - 0 > 0 so
    // v = v - 0 = v (Yogi only shrinks v by (1 - b2) d^2 sign(v - d^2)).
    std::vector<float> same{next[0]};
    std::vector<float> x2{next[0]};
    opt->step(span<const float>{x2}, span<float>{same});
    CHECK(same[0] == Approx(next[0] + lr * 0.09 / (std::sqrt(v) + tau))
                       .epsilon(1e-5));
  }
  SECTION("adagrad") {
    auto opt = make_adaptive_optimizer(adaptive_kind::adagrad, lr, b1, b2,
                                       tau);
    std::vector<float> next{1.0f};
    opt->step(span<const float>{x}, span<float>{next});
    const double v = 1e-4 + 1.0;
    CHECK(next[0] == Approx(lr * 0.1 / (std::sqrt(v) + tau)).epsilon(1e-5));
  }
}
