#include "runtime/aggregation/robust.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <thread>

#include <fmt/format.h>

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

caf::error check_inputs(const std::vector<span<const float>>& xs,
                        span<float> out) {
  if (xs.empty())
    return make_fl_error(errc::invalid_field, "no update to combine");
  for (const auto& x : xs)
    if (x.size() != out.size())
      return make_fl_error(errc::size_mismatch,
                           fmt::format("an update has {} values, the model {}",
                                       x.size(), out.size()));
  return caf::none;
}

/// Runs f(column) for each coordinate j with the n values xs[.][j] gathered
/// into a small buffer `column` (which f may reorder). Coordinates are
/// independent, so big models are split over the hardware threads (the
/// caller, the aggregation actor, has a thread of its own and waits).
template <class F>
void per_coordinate(const std::vector<span<const float>>& xs, span<float> out,
                    F f) {
  const size_t n = xs.size();
  auto range = [&](size_t first, size_t last) {
    std::vector<float> column(n);
    for (size_t j = first; j < last; ++j) {
      for (size_t i = 0; i < n; ++i)
        column[i] = xs[i][j];
      out[j] = f(column);
    }
  };
  const size_t threads = std::max(1u, std::thread::hardware_concurrency());
  if (threads == 1 || out.size() < (size_t{1} << 16)) {
    range(0, out.size());
    return;
  }
  const size_t per = (out.size() + threads - 1) / threads;
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t)
    pool.emplace_back(range, std::min(out.size(), t * per),
                      std::min(out.size(), (t + 1) * per));
  range(0, std::min(out.size(), per));
  for (auto& t : pool)
    t.join();
}

} // namespace

std::string to_string(combine_rule x) {
  switch (x) {
    case combine_rule::weighted_mean: return "mean";
    case combine_rule::median: return "median";
    case combine_rule::trimmed_mean: return "trimmed-mean";
    case combine_rule::krum: return "krum";
    case combine_rule::multi_krum: return "multi-krum";
  }
  return "?";
}

caf::error coordinate_median(const std::vector<span<const float>>& xs,
                             span<float> out) {
  if (auto err = check_inputs(xs, out))
    return err;
  const size_t n = xs.size();
  const size_t mid = n / 2;
  per_coordinate(xs, out, [&](std::vector<float>& c) {
    std::nth_element(c.begin(), c.begin() + static_cast<long>(mid), c.end());
    const float upper = c[mid];
    if (n % 2 == 1)
      return upper;
    // The lower middle is the largest value below the upper middle.
    const float lower = *std::max_element(c.begin(),
                                          c.begin() + static_cast<long>(mid));
    return static_cast<float>((static_cast<double>(lower) + upper) / 2);
  });
  return caf::none;
}

caf::error trimmed_mean(const std::vector<span<const float>>& xs, double beta,
                        span<float> out) {
  if (auto err = check_inputs(xs, out))
    return err;
  const size_t n = xs.size();
  const auto cut = static_cast<size_t>(std::floor(beta * static_cast<double>(n)));
  if (!(beta >= 0) || 2 * cut >= n)
    return make_fl_error(errc::invalid_field,
                         fmt::format("trimmed mean with beta {} of {} updates "
                                     "leaves nothing",
                                     beta, n));
  const auto keep = static_cast<double>(n - 2 * cut);
  per_coordinate(xs, out, [&](std::vector<float>& c) {
    if (cut > 0) {
      std::nth_element(c.begin(), c.begin() + static_cast<long>(cut), c.end());
      std::nth_element(c.begin() + static_cast<long>(cut),
                       c.end() - static_cast<long>(cut) - 1, c.end());
    }
    double sum = 0;
    for (size_t i = cut; i < n - cut; ++i)
      sum += c[i];
    return static_cast<float>(sum / keep);
  });
  return caf::none;
}

caf::expected<std::vector<double>>
krum_scores(const std::vector<span<const float>>& xs, uint64_t f) {
  const size_t n = xs.size();
  if (n < f + 3)
    return make_fl_error(errc::invalid_field,
                         fmt::format("Krum with f = {} needs at least {} "
                                     "updates, got {}",
                                     f, f + 3, n));
  std::vector<double> d(n * n, 0.0);
  for (size_t a = 0; a < n; ++a)
    for (size_t b = a + 1; b < n; ++b) {
      double sq = 0;
      for (size_t j = 0; j < xs[a].size(); ++j) {
        const double diff = static_cast<double>(xs[a][j]) - xs[b][j];
        sq += diff * diff;
      }
      d[a * n + b] = d[b * n + a] = sq;
    }
  const size_t neighbours = n - f - 2;
  std::vector<double> scores(n);
  std::vector<double> row;
  for (size_t a = 0; a < n; ++a) {
    row.clear();
    for (size_t b = 0; b < n; ++b)
      if (b != a)
        row.push_back(d[a * n + b]);
    std::partial_sort(row.begin(), row.begin() + static_cast<long>(neighbours),
                      row.end());
    scores[a] = std::accumulate(row.begin(),
                                row.begin() + static_cast<long>(neighbours),
                                0.0);
  }
  return scores;
}

std::vector<size_t> krum_select(const std::vector<double>& scores, size_t m) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return scores[a] < scores[b];
  });
  order.resize(std::min(m, order.size()));
  return order;
}

caf::error robust_combine(const robust_settings& s,
                          const std::vector<span<const float>>& xs,
                          const std::vector<double>& weights,
                          span<float> out) {
  if (auto err = check_inputs(xs, out))
    return err;
  switch (s.rule) {
    case combine_rule::median: return coordinate_median(xs, out);
    case combine_rule::trimmed_mean:
      return trimmed_mean(xs, s.trim_beta, out);
    case combine_rule::krum:
    case combine_rule::multi_krum: {
      auto scores = krum_scores(xs, s.krum_f);
      if (!scores)
        return std::move(scores.error());
      size_t m = 1;
      if (s.rule == combine_rule::multi_krum)
        m = s.multi_krum_m > 0 ? s.multi_krum_m
                               : xs.size() - static_cast<size_t>(s.krum_f);
      const auto chosen = krum_select(*scores, m);
      // Multi-Krum: the sample-weighted mean of the chosen updates.
      double total = 0;
      for (auto i : chosen)
        total += weights.at(i);
      if (!(total > 0))
        return make_fl_error(errc::invalid_field, "chosen updates weigh 0");
      std::fill(out.begin(), out.end(), 0.0f);
      std::vector<double> acc(out.size(), 0.0);
      for (auto i : chosen) {
        const double w = weights.at(i) / total;
        for (size_t j = 0; j < out.size(); ++j)
          acc[j] += w * xs[i][j];
      }
      for (size_t j = 0; j < out.size(); ++j)
        out[j] = static_cast<float>(acc[j]);
      return caf::none;
    }
    case combine_rule::weighted_mean: break;
  }
  return make_fl_error(errc::invalid_field,
                       "the weighted mean is folded, not combined");
}

caf::error validate(const robust_settings& s, uint64_t expected) {
  auto bad = [](std::string what) {
    return make_fl_error(errc::invalid_config, std::move(what));
  };
  if (s.rule == combine_rule::trimmed_mean) {
    if (!(s.trim_beta >= 0 && s.trim_beta < 0.5))
      return bad("strategy.trim_beta must be in [0, 0.5)");
    const auto cut = static_cast<uint64_t>(
      std::floor(s.trim_beta * static_cast<double>(expected)));
    if (expected > 0 && 2 * cut >= expected)
      return bad(fmt::format("strategy.trim_beta = {} cuts every one of the "
                             "{} updates of a round",
                             s.trim_beta, expected));
  }
  if (s.rule == combine_rule::krum || s.rule == combine_rule::multi_krum) {
    if (expected > 0 && expected < s.krum_f + 3)
      return bad(fmt::format("strategy.krum_f = {} needs at least {} updates "
                             "per round, only {} are sampled",
                             s.krum_f, s.krum_f + 3, expected));
    if (s.rule == combine_rule::multi_krum && expected > 0
        && s.multi_krum_m > expected)
      return bad(fmt::format("strategy.multi_krum_m = {} is more than the {} "
                             "updates per round",
                             s.multi_krum_m, expected));
  }
  return caf::none;
}

} // namespace fl
