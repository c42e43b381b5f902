#pragma once

#include <cstdint>

#include <caf/error.hpp>

#include "runtime/core/span.hpp"

namespace fl {

/// The bounds every update and every candidate global model must respect
/// before they are folded or accepted ([guard] in the config).
struct guard_settings {
  /// A candidate model may move at most this far from the current one:
  /// ||candidate - current|| <= ratio * max(||current||, 1). The same bound
  /// refuses a single update whose change is larger. 0 = no bound (finite
  /// values are still required).
  double max_change_ratio = 10;
  /// Each update's change (params - base, or the delta) is scaled down to
  /// at most this L2 norm before it is folded. 0 = no clipping.
  double clip_update_norm = 0;
  /// Updates may not claim more samples than this. 0 = only the count the
  /// client announced when it joined bounds it.
  uint64_t max_samples = 0;
  /// After this many consecutive rejected candidates the run stops with an
  /// error. 0 = never stop.
  uint64_t max_rejections = 3;
};

/// Euclidean norm of `x`, accumulated in double.
double l2_norm(span<const float> x);

/// Euclidean norm of `x - y`, accumulated in double (inf when a value is
/// not finite). REQUIRES: x.size() == y.size().
double l2_distance(span<const float> x, span<const float> y);

/// The largest change `max_change_ratio` allows from a model of norm
/// `current_norm`; +inf when the ratio is 0 (no bound).
double change_bound(double max_change_ratio, double current_norm);

/// Checks a candidate global model against the current one (finite, with
/// norm `current_norm`): every value finite and ||candidate - current||
/// within the bound. One pass over both models.
/// Errors: `size_mismatch`; `rejected_model` with the reason and figures.
caf::error check_candidate(span<const float> current, double current_norm,
                           span<const float> candidate,
                           double max_change_ratio);

/// The same, computing the current model's norm.
inline caf::error check_candidate(span<const float> current,
                                  span<const float> candidate,
                                  double max_change_ratio) {
  return check_candidate(current, l2_norm(current), candidate,
                         max_change_ratio);
}

/// The factor in (0, 1] that scales a change of norm `change_norm` down to
/// `clip` (1 when clip is 0 or the change is already small enough).
double clip_factor(double change_norm, double clip);

} // namespace fl
