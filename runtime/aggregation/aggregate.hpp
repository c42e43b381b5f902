#pragma once

#include <cstdint>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/core/span.hpp"

namespace fl {

/// Pure aggregation math over flat float32 spans: no allocation, no I/O, no
/// threads. These are the reference every aggregator (CPU pool, CUDA) must
/// match. All functions REQUIRE equal span sizes (checked, see each).

/// acc[i] += weight * x[i]. Folds one update into a running weighted sum so
/// that memory stays O(model) however many updates arrive.
/// Errors: `size_mismatch` if the sizes differ (acc is left untouched).
caf::error weighted_accumulate(span<float> acc, span<const float> x,
                               double weight);

/// out[i] = acc[i] / total_weight: the weighted mean after folding.
/// `out` may alias `acc` (finalize in place).
/// Errors: `size_mismatch`; `invalid_field` if total_weight <= 0 (out is
/// left untouched, so the previous model stays).
caf::error finalize_average(span<const float> acc, double total_weight,
                            span<float> out);

/// FedAsync mixing (Xie et al. 2019): w[i] = (1 - alpha) * w[i] + alpha * x[i].
/// Errors: `size_mismatch`; `invalid_field` unless 0 <= alpha <= 1.
caf::error mix(span<float> w, span<const float> x, double alpha);

/// Exact, order-independent folding. A float sum depends on the order of
/// its terms; a fixed-point integer sum does not (integer addition is
/// associative, even when it wraps). Each term w * x[i] is rounded once,
/// by itself, to a multiple of 2^-exact_fraction_bits and added to an
/// int64, so the same set of updates gives the same bits in any arrival
/// order. Contract: the weights of one sum add up to at most
/// `exact_weight_limit` (callers normalise them, e.g. by the round's sample
/// budget) and |x[i]| <= `exact_value_limit`; then no sum can overflow.
/// Resolution 2^-39 (1.8e-12) of the normalised sum, finer than a float's
/// rounding for values above ~1e-5.
constexpr int exact_fraction_bits = 39;
constexpr double exact_weight_limit = 4.0;
constexpr double exact_value_limit = 2097152.0; // 2^21

/// acc[i] += round(weight * x[i] * 2^39), each term rounded to nearest
/// even. Returns how many x[i] are NaN or beyond exact_value_limit (their
/// terms are 0 or clamped), so a caller can refuse such an update and undo
/// the fold with `exact_accumulate(acc, x, weight, /*subtract=*/true)`: the
/// same terms are subtracted, which restores acc exactly.
/// Errors: `size_mismatch`; `invalid_field` if weight is not in
/// [0, exact_weight_limit].
caf::expected<uint64_t> exact_accumulate(span<int64_t> acc,
                                         span<const float> x, double weight,
                                         bool subtract = false);

/// out[i] = acc[i] * 2^-39 / total_weight, rounded once to float.
/// Errors: `size_mismatch`; `invalid_field` if total_weight <= 0.
caf::error exact_finalize(span<const int64_t> acc, double total_weight,
                          span<float> out);

/// An exact, order-independent sum of doubles in [-2^62, 2^62] (weights):
/// each value is rounded once to a multiple of 2^-62 and added to a 128-bit
/// integer.
class exact_sum {
public:
  __extension__ using int128 = __int128; // GCC/Clang; -Wpedantic-clean
  void add(double x);
  void subtract(double x);
  double value() const;
  void clear() { acc_ = 0; }

private:
  int128 acc_ = 0;
};

/// acc[i] = 0 for all i.
void zero(span<float> acc);

/// True when every element is finite (no NaN, no +-Inf).
bool all_finite(span<const float> x);

} // namespace fl
