#include "runtime/aggregation/model_guard.hpp"

#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "runtime/aggregation/aggregate.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

double l2_norm(span<const float> x) {
  double sum = 0;
  for (auto v : x)
    sum += static_cast<double>(v) * v;
  return std::sqrt(sum);
}

double l2_distance(span<const float> x, span<const float> y) {
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(x[i]) - y[i];
    sum += d * d;
  }
  return std::isfinite(sum) ? std::sqrt(sum)
                            : std::numeric_limits<double>::infinity();
}

double change_bound(double max_change_ratio, double current_norm) {
  if (!(max_change_ratio > 0))
    return std::numeric_limits<double>::infinity();
  return max_change_ratio * std::max(current_norm, 1.0);
}

caf::error check_candidate(span<const float> current,
                           span<const float> candidate,
                           double max_change_ratio) {
  if (current.size() != candidate.size())
    return make_fl_error(errc::size_mismatch,
                         fmt::format("candidate has {} values, the model {}",
                                     candidate.size(), current.size()));
  if (!all_finite(candidate))
    return make_fl_error(errc::rejected_model,
                         "candidate model has non-finite values");
  const double bound = change_bound(max_change_ratio, l2_norm(current));
  const double change = l2_distance(candidate, current);
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
