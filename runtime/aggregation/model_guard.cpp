#include "runtime/aggregation/model_guard.hpp"

#include <algorithm>
#include <cmath>
#include <future>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

/// Sum over [0, n) of the per-element values `term(i)`, in double, split
/// over the hardware threads for big models (the guard reads every update
/// once; one core cannot keep up with the fold's bandwidth). Each part keeps
/// eight independent partial sums, so the loop pipelines and vectorises
/// instead of waiting on one chain of additions. The split is fixed for a
/// given n and thread count, so results are reproducible.
template <class Term>
double parallel_sum(size_t n, Term term) {
  constexpr size_t min_chunk = size_t{1} << 22; // 16 MiB of floats
  constexpr size_t lanes = 8;
  const size_t threads = std::min<size_t>(
    std::max(1u, std::thread::hardware_concurrency()), n / min_chunk + 1);
  auto part = [&](size_t k) {
    const size_t lo = n * k / threads, hi = n * (k + 1) / threads;
    double acc[lanes] = {};
    size_t i = lo;
    for (; i + lanes <= hi; i += lanes)
      for (size_t l = 0; l < lanes; ++l)
        acc[l] += term(i + l);
    double sum = 0;
    for (; i < hi; ++i)
      sum += term(i);
    for (auto a : acc)
      sum += a;
    return sum;
  };
  if (threads == 1)
    return part(0);
  std::vector<std::future<double>> rest;
  for (size_t k = 1; k < threads; ++k)
    rest.push_back(std::async(std::launch::async, part, k));
  double sum = part(0);
  for (auto& r : rest)
    sum += r.get();
  return sum;
}

} // namespace

double l2_norm(span<const float> x) {
  const float* p = x.data();
  return std::sqrt(parallel_sum(x.size(), [p](size_t i) {
    const double v = p[i];
    return v * v;
  }));
}

double l2_distance(span<const float> x, span<const float> y) {
  const float* p = x.data();
  const float* q = y.data();
  const double sum = parallel_sum(x.size(), [p, q](size_t i) {
    const double d = static_cast<double>(p[i]) - q[i];
    return d * d;
  });
  return std::isfinite(sum) ? std::sqrt(sum)
                            : std::numeric_limits<double>::infinity();
}

double change_bound(double max_change_ratio, double current_norm) {
  if (!(max_change_ratio > 0))
    return std::numeric_limits<double>::infinity();
  return max_change_ratio * std::max(current_norm, 1.0);
}

caf::error check_candidate(span<const float> current, double current_norm,
                           span<const float> candidate,
                           double max_change_ratio) {
  if (current.size() != candidate.size())
    return make_fl_error(errc::size_mismatch,
                         fmt::format("candidate has {} values, the model {}",
                                     candidate.size(), current.size()));
  // The current model is finite, and a float squared fits a double: the
  // distance is finite exactly when every candidate value is.
  const double change = l2_distance(candidate, current);
  if (!std::isfinite(change))
    return make_fl_error(errc::rejected_model,
                         "candidate model has non-finite values");
  const double bound = change_bound(max_change_ratio, current_norm);
  if (!(change <= bound))
    return make_fl_error(errc::rejected_model,
                         fmt::format("candidate moves the model by {:.4g} "
                                     "(L2), more than the bound {:.4g}",
                                     change, bound));
  return {};
}

double clip_factor(double change_norm, double clip) {
  if (!(clip > 0) || !(change_norm > clip))
    return 1.0;
  return clip / change_norm;
}

} // namespace fl
