#include "runtime/aggregation/aggregate.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/// The sizes match and there is weight to divide by.
caf::error check_finalize(size_t acc, size_t out, double total_weight) {
  if (auto err = check_sizes(acc, out))
    return err;
  if (!(total_weight > 0.0))
    return make_fl_error(errc::invalid_field,
                         "total weight must be positive, got "
                           + std::to_string(total_weight));
  return caf::none;
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
  if (auto err = check_finalize(acc.size(), out.size(), total_weight))
    return err;
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

namespace {

/// What a fast pass found.
struct fast_pass {
  int64_t bad = 0;     ///< values that are NaN or beyond exact_value_limit
  int64_t clamped = 0; ///< terms at or beyond 2^51 (folded clamped)
};

/// The fast loop of exact_accumulate for terms |x[i] * scale| < 2^51:
/// adding 1.5 * 2^52 leaves the integer nearest v (ties to even) in the low
/// mantissa bits, with no conversion instruction (which SSE2 lacks for
/// int64). Terms beyond are clamped, so they are well-defined integers that
/// a second pass with -scale takes back exactly; a NaN term is 0. GCC does
/// not vectorise this loop by itself, so on x86-64 it is written with SSE2
/// intrinsics (two doubles per step); the scalar loop computes the same
/// terms.
fast_pass fold_fast(int64_t* __restrict a, const float* __restrict b,
                    size_t n, double scale) {
  constexpr double magic = 6755399441055744.0; // 1.5 * 2^52
  constexpr double clamp = 2251799813685247.0; // 2^51 - 1
  int64_t magic_bits;
  std::memcpy(&magic_bits, &magic, sizeof magic);
  fast_pass out;
  size_t i = 0;
#if defined(__SSE2__)
  const __m128d vscale = _mm_set1_pd(scale);
  const __m128d vmagic = _mm_set1_pd(magic);
  const __m128d vclamp = _mm_set1_pd(clamp);
  const __m128d vneg_clamp = _mm_set1_pd(-clamp);
  const __m128d vlimit = _mm_set1_pd(exact_value_limit);
  const __m128d sign = _mm_set1_pd(-0.0);
  const __m128i vmagic_bits = _mm_set1_epi64x(magic_bits);
  for (; i + 2 <= n; i += 2) {
    const __m128d x = _mm_cvtps_pd(
      _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + i))));
    const __m128d ax = _mm_andnot_pd(sign, x);
    // !(|x| <= limit) is true for NaN too.
    const int bad = _mm_movemask_pd(_mm_cmpnle_pd(ax, vlimit));
    __m128d v = _mm_mul_pd(x, vscale);
    v = _mm_and_pd(v, _mm_cmpord_pd(v, v)); // NaN -> 0
    const int wide = _mm_movemask_pd(
      _mm_cmpge_pd(_mm_andnot_pd(sign, v), vclamp));
    v = _mm_min_pd(_mm_max_pd(v, vneg_clamp), vclamp);
    const __m128i q = _mm_sub_epi64(_mm_castpd_si128(_mm_add_pd(v, vmagic)),
                                    vmagic_bits);
    auto* dst = reinterpret_cast<__m128i*>(a + i);
    _mm_storeu_si128(dst, _mm_add_epi64(_mm_loadu_si128(dst), q));
    out.bad += (bad & 1) + (bad >> 1); // two mask bits
    out.clamped += (wide & 1) + (wide >> 1);
  }
#endif
  for (; i < n; ++i) {
    const double x = static_cast<double>(b[i]);
    out.bad += !(std::fabs(x) <= exact_value_limit); // NaN: the test fails
    double v = x * scale;
    v = v == v ? v : 0.0;
    out.clamped += std::fabs(v) >= clamp;
    v = v < -clamp ? -clamp : v;
    v = v > clamp ? clamp : v;
    const double r = v + magic;
    int64_t bits;
    std::memcpy(&bits, &r, sizeof r);
    a[i] += bits - magic_bits;
  }
  return out;
}

/// The same terms for any |v| (clamped to 2^62), one conversion each.
void fold_wide(int64_t* a, const float* b, size_t n, double scale) {
  constexpr double clamp = 4611686018427387904.0; // 2^62
  for (size_t i = 0; i < n; ++i) {
    double v = static_cast<double>(b[i]) * scale;
    v = v == v ? v : 0.0;
    v = v < -clamp ? -clamp : (v > clamp ? clamp : v);
    a[i] += std::llrint(v);
  }
}

} // namespace

caf::expected<uint64_t> exact_accumulate(span<int64_t> acc,
                                         span<const float> x, double weight,
                                         bool subtract) {
  if (auto err = check_sizes(acc.size(), x.size()))
    return err;
  if (!(weight >= 0.0 && weight <= exact_weight_limit))
    return make_fl_error(errc::invalid_field,
                         "exact fold: weight must be in [0, "
                           + std::to_string(exact_weight_limit) + "], got "
                           + std::to_string(weight));
  const double scale = std::ldexp(subtract ? -weight : weight,
                                  exact_fraction_bits);
  const auto pass = fold_fast(acc.data(), x.data(), acc.size(), scale);
  if (pass.clamped > 0) {
    // Some term was clamped: take the pass back and fold them all wide.
    fold_fast(acc.data(), x.data(), acc.size(), -scale);
    fold_wide(acc.data(), x.data(), acc.size(), scale);
  }
  return static_cast<uint64_t>(pass.bad);
}

caf::error exact_finalize(span<const int64_t> acc, double total_weight,
                          span<float> out) {
  if (auto err = check_finalize(acc.size(), out.size(), total_weight))
    return err;
  const double scale = std::ldexp(1.0, -exact_fraction_bits) / total_weight;
  const int64_t* a = acc.data();
  float* o = out.data();
  const size_t n = acc.size();
  for (size_t i = 0; i < n; ++i)
    o[i] = static_cast<float>(static_cast<double>(a[i]) * scale);
  return caf::none;
}

namespace {

constexpr int exact_sum_bits = 62;

using int128 = exact_sum::int128;

int128 to_fixed(double x) {
  // x = hi + lo with hi integral and lo in [0, 1), both exact in double.
  const double hi = std::floor(x);
  const double lo = x - hi;
  constexpr int128 one = static_cast<int128>(1) << exact_sum_bits;
  return static_cast<int128>(static_cast<int64_t>(hi)) * one
         + static_cast<int128>(std::nearbyint(std::ldexp(lo,
                                                           exact_sum_bits)));
}

} // namespace

void exact_sum::add(double x) {
  acc_ += to_fixed(x);
}

void exact_sum::subtract(double x) {
  acc_ -= to_fixed(x);
}

double exact_sum::value() const {
  const auto hi = static_cast<int64_t>(acc_ >> exact_sum_bits);
  const auto lo = static_cast<int64_t>(
    acc_ & ((static_cast<int128>(1) << exact_sum_bits) - 1));
  return static_cast<double>(hi)
         + std::ldexp(static_cast<double>(lo), -exact_sum_bits);
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
