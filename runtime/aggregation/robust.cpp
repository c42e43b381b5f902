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

/// ||x - y||^2. Eight float lanes per block of 4096 values (so the
/// compiler vectorises it), block sums added in double.
double squared_distance(span<const float> x, span<const float> y) {
  constexpr size_t block = 4096;
  double total = 0;
  for (size_t first = 0; first < x.size(); first += block) {
    const size_t last = std::min(x.size(), first + block);
    float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t j = first;
    for (; j + 8 <= last; j += 8)
      for (size_t l = 0; l < 8; ++l) {
        const float diff = x[j + l] - y[j + l];
        lanes[l] += diff * diff;
      }
    double sum = 0;
    for (float lane : lanes)
      sum += lane;
    for (; j < last; ++j) {
      const double diff = static_cast<double>(x[j]) - y[j];
      sum += diff * diff;
    }
    total += sum;
  }
  return total;
}

/// a[k], b[k] = min, max of (a[k], b[k]) for k < len. The rows never
/// overlap (restrict), so this compiles to packed min/max instructions.
void compare_exchange(float* __restrict a, float* __restrict b, size_t len) {
  for (size_t k = 0; k < len; ++k) {
    const float x = a[k], y = b[k];
    a[k] = std::min(x, y);
    b[k] = std::max(x, y);
  }
}

/// Sorts, per coordinate, the n values of a block of `len` coordinates held
/// as n rows of `stride` floats: an odd-even transposition network, whose
/// compare-exchanges are element-wise min/max over whole rows, so the
/// compiler vectorises them across coordinates (no branch per value).
void sort_rows(float* rows, size_t n, size_t len, size_t stride) {
  for (size_t pass = 0; pass < n; ++pass)
    for (size_t i = pass % 2; i + 1 < n; i += 2) {
      compare_exchange(rows + i * stride, rows + (i + 1) * stride, len);
    }
}

/// Runs f(rows, first, len) for blocks of coordinates [first, first + len):
/// `rows` holds, per coordinate k of the block, the n values xs[.][first +
/// k] sorted ascending in rows[0 * B + k] ... rows[(n - 1) * B + k] (B the
/// block size). Big models are split over the hardware threads (the
/// caller, the aggregation actor, has a thread of its own and waits).
template <class F>
void per_sorted_block(const std::vector<span<const float>>& xs,
                      size_t size, F f) {
  constexpr size_t block = 512;
  const size_t n = xs.size();
  auto range = [&](size_t first, size_t last) {
    std::vector<float> rows(n * block);
    std::vector<float> column(n);
    for (size_t at = first; at < last; at += block) {
      const size_t len = std::min(block, last - at);
      for (size_t i = 0; i < n; ++i)
        std::copy(xs[i].begin() + static_cast<long>(at),
                  xs[i].begin() + static_cast<long>(at + len),
                  rows.begin() + static_cast<long>(i * block));
      if (n <= 32) {
        sort_rows(rows.data(), n, len, block);
      } else { // the network is O(n^2): sort each column instead
        for (size_t k = 0; k < len; ++k) {
          for (size_t i = 0; i < n; ++i)
            column[i] = rows[i * block + k];
          std::sort(column.begin(), column.end());
          for (size_t i = 0; i < n; ++i)
            rows[i * block + k] = column[i];
        }
      }
      f(static_cast<const float*>(rows.data()), block, at, len);
    }
  };
  const size_t threads = std::max(1u, std::thread::hardware_concurrency());
  if (threads == 1 || size < (size_t{1} << 16)) {
    range(0, size);
    return;
  }
  const size_t per = ((size + threads - 1) / threads + block - 1) / block
                     * block;
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t)
    pool.emplace_back(range, std::min(size, t * per),
                      std::min(size, (t + 1) * per));
  range(0, std::min(size, per));
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
  per_sorted_block(xs, out.size(), [&](const float* rows, size_t stride,
                                       size_t first, size_t len) {
    const float* upper = rows + mid * stride;
    const float* lower = rows + (mid - (n % 2 == 1 ? 0 : 1)) * stride;
    for (size_t k = 0; k < len; ++k)
      out[first + k] = static_cast<float>(
        (static_cast<double>(lower[k]) + upper[k]) / 2);
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
  per_sorted_block(xs, out.size(), [&](const float* rows, size_t stride,
                                       size_t first, size_t len) {
    for (size_t k = 0; k < len; ++k) {
      double sum = 0;
      for (size_t i = cut; i < n - cut; ++i)
        sum += rows[i * stride + k];
      out[first + k] = static_cast<float>(sum / keep);
    }
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
    for (size_t b = a + 1; b < n; ++b)
      d[a * n + b] = d[b * n + a] = squared_distance(xs[a], xs[b]);
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
