#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/core/span.hpp"

namespace fl {

/// How the aggregation actor combines a round's updates into one model.
/// `weighted_mean` folds each update into an O(model) running sum as it
/// arrives; the robust rules need every update of the round at once, so
/// the actor keeps them resident (K x model bytes, K bounded by the round's
/// sample or FedBuff's buffer) and combines them when the round closes.
enum class combine_rule : uint8_t {
  weighted_mean, ///< FedAvg's sample-weighted mean (streaming)
  median,        ///< coordinate-wise median
  trimmed_mean,  ///< coordinate-wise mean without the beta tails
  krum,          ///< the update closest to its n - f - 2 neighbours
  multi_krum,    ///< the mean of the m best Krum scores
};

/// "mean", "median", "trimmed-mean", "krum" or "multi-krum".
std::string to_string(combine_rule x);

/// The settings of the robust rules.
struct robust_settings {
  combine_rule rule = combine_rule::weighted_mean;
  double trim_beta = 0.1; ///< trimmed mean: share cut from each end, [0, 0.5)
  uint64_t krum_f = 1;    ///< Krum: Byzantine updates tolerated
  uint64_t multi_krum_m = 0; ///< Multi-Krum: updates averaged; 0 = n - f
};

/// Coordinate-wise median (Yin et al. 2018, "Byzantine-Robust Distributed
/// Learning: Towards Optimal Statistical Rates", arXiv:1803.01498):
/// out[j] = median_i xs[i][j]; for an even count the mean of the two middle
/// values. Errors: `invalid_field` without updates, `size_mismatch`.
caf::error coordinate_median(const std::vector<span<const float>>& xs,
                             span<float> out);

/// Coordinate-wise trimmed mean (Yin et al. 2018): per coordinate, drop the
/// floor(beta * n) smallest and largest values and average the rest.
/// Errors: `invalid_field` when nothing would remain, `size_mismatch`.
caf::error trimmed_mean(const std::vector<span<const float>>& xs, double beta,
                        span<float> out);

/// Krum scores (Blanchard et al. 2017, "Machine Learning with Adversaries:
/// Byzantine Tolerant Gradient Descent", NeurIPS): score_i = the sum of the
/// squared distances from xs[i] to its n - f - 2 nearest other updates.
/// Errors: `invalid_field` unless n >= f + 3.
caf::expected<std::vector<double>>
krum_scores(const std::vector<span<const float>>& xs, uint64_t f);

/// The indices of the m lowest Krum scores, lowest first (ties: lower
/// index). Krum is m = 1; Multi-Krum averages these m updates.
std::vector<size_t> krum_select(const std::vector<double>& scores, size_t m);

/// Applies `s` to `xs` (with their weights, used by the Multi-Krum mean)
/// and writes the combined model to `out`. REQUIRES: rule != weighted_mean.
/// Errors: as the rules above.
caf::error robust_combine(const robust_settings& s,
                          const std::vector<span<const float>>& xs,
                          const std::vector<double>& weights, span<float> out);

/// Checks the settings for rounds of `expected` updates (0 = unknown).
/// Errors: `invalid_config` naming the setting.
caf::error validate(const robust_settings& s, uint64_t expected);

} // namespace fl
