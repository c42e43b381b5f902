#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "runtime/aggregation/robust.hpp"
#include "runtime/core/errors.hpp"

using namespace fl;

namespace {

std::vector<span<const float>> views(const std::vector<std::vector<float>>& xs) {
  std::vector<span<const float>> out;
  for (const auto& x : xs)
    out.emplace_back(x);
  return out;
}

} // namespace

TEST_CASE("coordinate-wise median on hand-computed updates", "[robust]") {
  // Per coordinate: {1, 5, 3} -> 3; {-2, 10, 0} -> 0; {7, 7, 100} -> 7.
  std::vector<std::vector<float>> odd{{1, -2, 7}, {5, 10, 7}, {3, 0, 100}};
  std::vector<float> out(3);
  REQUIRE(!coordinate_median(views(odd), span<float>{out}));
  CHECK(out == std::vector<float>{3, 0, 7});
  // Even count: the mean of the two middle values. {1, 2, 4, 100} -> 3.
  std::vector<std::vector<float>> even{{1}, {100}, {4}, {2}};
  std::vector<float> one(1);
  REQUIRE(!coordinate_median(views(even), span<float>{one}));
  CHECK(one[0] == 3.0f);
}

TEST_CASE("trimmed mean drops beta of each tail per coordinate", "[robust]") {
  // 5 updates, beta 0.2: one value cut at each end.
  // {1, 2, 3, 4, 1000} -> (2 + 3 + 4) / 3 = 3; {-50, 0, 1, 2, 3} -> 1.
  std::vector<std::vector<float>> xs{
    {1, -50}, {2, 0}, {3, 1}, {4, 2}, {1000, 3}};
  std::vector<float> out(2);
  REQUIRE(!trimmed_mean(views(xs), 0.2, span<float>{out}));
  CHECK(out[0] == Approx(3.0));
  CHECK(out[1] == Approx(1.0));
  // beta 0 is the plain mean.
  REQUIRE(!trimmed_mean(views(xs), 0.0, span<float>{out}));
  CHECK(out[0] == Approx(202.0));
  // beta 0.5 of 5 cuts 2 + 2 of 5 values: one remains, allowed; with 4
  // updates beta 0.5 leaves nothing and is refused.
  std::vector<std::vector<float>> four{{1}, {2}, {3}, {4}};
  std::vector<float> o1(1);
  CHECK(has_code(trimmed_mean(views(four), 0.5, span<float>{o1}),
                 errc::invalid_field));
}

TEST_CASE("Krum scores are sums of squared distances to the nearest n-f-2",
          "[robust]") {
  // 1-D points 0, 1, 2, 10 with f = 1: each score sums the n - f - 2 = 1
  // smallest squared distances: 0 -> 1, 1 -> 1, 2 -> 1, 10 -> 64.
  std::vector<std::vector<float>> xs{{0}, {1}, {2}, {10}};
  auto scores = krum_scores(views(xs), 1);
  REQUIRE(scores);
  CHECK(*scores == std::vector<double>{1, 1, 1, 64});
  // Krum picks the lowest (ties: the first); Multi-Krum m = 3 averages
  // 0, 1, 2 (weighted: weights 1, 1, 2 -> (0 + 1 + 4) / 4 = 1.25).
  robust_settings s;
  s.rule = combine_rule::krum;
  s.krum_f = 1;
  std::vector<float> out(1);
  REQUIRE(!robust_combine(s, views(xs), {1, 1, 2, 1}, span<float>{out}));
  CHECK(out[0] == 0.0f);
  s.rule = combine_rule::multi_krum;
  s.multi_krum_m = 3;
  REQUIRE(!robust_combine(s, views(xs), {1, 1, 2, 1}, span<float>{out}));
  CHECK(out[0] == Approx(1.25));
  // m = 0 means n - f.
  s.multi_krum_m = 0;
  REQUIRE(!robust_combine(s, views(xs), {1, 1, 1, 1}, span<float>{out}));
  CHECK(out[0] == Approx(1.0));
  // Too few updates for f.
  CHECK(!krum_scores(views(xs), 2));
}

TEST_CASE("robust settings are checked against the round size", "[robust]") {
  robust_settings s;
  s.rule = combine_rule::krum;
  s.krum_f = 3;
  CHECK(has_code(validate(s, 5), errc::invalid_config));
  CHECK(!validate(s, 6));
  s.rule = combine_rule::trimmed_mean;
  s.trim_beta = 0.5;
  CHECK(has_code(validate(s, 10), errc::invalid_config));
  s.rule = combine_rule::multi_krum;
  s.krum_f = 1;
  s.multi_krum_m = 11;
  CHECK(has_code(validate(s, 10), errc::invalid_config));
}

TEST_CASE("rules refuse updates of another size", "[robust]") {
  std::vector<std::vector<float>> xs{{1, 2}, {3}};
  std::vector<float> out(2);
  CHECK(has_code(coordinate_median(views(xs), span<float>{out}),
                 errc::size_mismatch));
  CHECK(has_code(coordinate_median({}, span<float>{out}),
                 errc::invalid_field));
}

TEST_CASE("big models are split over threads with the same result",
          "[robust]") {
  const size_t n = (size_t{1} << 17) + 3;
  std::vector<std::vector<float>> xs(5, std::vector<float>(n));
  for (size_t i = 0; i < 5; ++i)
    for (size_t j = 0; j < n; ++j)
      xs[i][j] = static_cast<float>((i * 7919 + j * 104729) % 1000);
  std::vector<float> med(n), trim(n);
  REQUIRE(!coordinate_median(views(xs), span<float>{med}));
  REQUIRE(!trimmed_mean(views(xs), 0.2, span<float>{trim}));
  for (size_t j : {size_t{0}, n / 2, n - 1}) {
    std::vector<float> c;
    for (size_t i = 0; i < 5; ++i)
      c.push_back(xs[i][j]);
    std::sort(c.begin(), c.end());
    CHECK(med[j] == c[2]);
    CHECK(trim[j] == Approx((c[1] + c[2] + c[3]) / 3.0));
  }
}
