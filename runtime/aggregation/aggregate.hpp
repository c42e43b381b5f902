#pragma once

#include <cstdint>

#include <caf/error.hpp>

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

/// acc[i] = 0 for all i.
void zero(span<float> acc);

/// True when every element is finite (no NaN, no +-Inf).
bool all_finite(span<const float> x);

} // namespace fl
