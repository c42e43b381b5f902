#include "runtime/aggregation/aggregate.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

caf::error check_sizes(size_t x, size_t y) {
  if (x == y)
    return caf::none;
  return make_fl_error(errc::size_mismatch, "spans of " + std::to_string(x)
                                              + " and " + std::to_string(y)
                                              + " elements");
}

} // namespace

// The loops below are written so GCC vectorises them at -O2/-O3: restrict
// pointers, float arithmetic, no branches in the body.

caf::error weighted_accumulate(span<float> acc, span<const float> x,
                               double weight) {
  if (auto err = check_sizes(acc.size(), x.size()))
    return err;
  float* __restrict a = acc.data();
  const float* __restrict b = x.data();
  const auto w = static_cast<float>(weight);
  const size_t n = acc.size();
  for (size_t i = 0; i < n; ++i)
    a[i] += w * b[i];
  return caf::none;
}

caf::error finalize_average(span<const float> acc, double total_weight,
                            span<float> out) {
  if (auto err = check_sizes(acc.size(), out.size()))
    return err;
  if (!(total_weight > 0.0))
    return make_fl_error(errc::invalid_field,
                         "total weight must be positive, got "
                           + std::to_string(total_weight));
  const auto inv = static_cast<float>(1.0 / total_weight);
  const float* a = acc.data();
  float* o = out.data();
  const size_t n = acc.size();
  for (size_t i = 0; i < n; ++i)
    o[i] = a[i] * inv;
  return caf::none;
}

caf::error mix(span<float> w, span<const float> x, double alpha) {
  if (auto err = check_sizes(w.size(), x.size()))
    return err;
  if (!(alpha >= 0.0 && alpha <= 1.0))
    return make_fl_error(errc::invalid_field,
                         "mixing weight must be in [0, 1], got "
                           + std::to_string(alpha));
  float* __restrict a = w.data();
  const float* __restrict b = x.data();
  const auto al = static_cast<float>(alpha);
  const auto keep = static_cast<float>(1.0 - alpha);
  const size_t n = w.size();
  for (size_t i = 0; i < n; ++i)
    a[i] = keep * a[i] + al * b[i];
  return caf::none;
}

void zero(span<float> acc) {
  if (!acc.empty())
    std::memset(acc.data(), 0, acc.size_bytes());
}

bool all_finite(span<const float> x) {
  // |v| <= FLT_MAX is false for NaN and +-Inf; accumulate without branching.
  const float* p = x.data();
  const size_t n = x.size();
  bool ok = true;
  constexpr float max = std::numeric_limits<float>::max();
  for (size_t i = 0; i < n; ++i)
    ok &= std::fabs(p[i]) <= max;
  return ok;
}

} // namespace fl
