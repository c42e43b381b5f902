#include "runtime/aggregation/async_rules.hpp"

#include <string>

#include "runtime/aggregation/aggregate.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

caf::expected<uint64_t> staleness_of(uint64_t current, uint64_t base,
                                     uint64_t max_staleness) {
  if (base > current)
    return make_fl_error(errc::version_from_future,
                         "base version " + std::to_string(base)
                           + " is newer than the server's "
                           + std::to_string(current));
  const uint64_t s = current - base;
  if (s > max_staleness)
    return make_fl_error(errc::too_stale,
                         "staleness " + std::to_string(s) + " exceeds "
                           + std::to_string(max_staleness));
  return s;
}

caf::error fedasync_rule::apply(span<float> global, span<const float> client,
                                uint64_t staleness) const {
  return mix(global, client, weight(staleness));
}

fedbuff_rule::fedbuff_rule(size_t model_size, uint64_t k, double server_lr,
                           staleness_fn s)
  : acc_(model_size, 0.0f), k_(k), server_lr_(server_lr), s_(s) {}

caf::error fedbuff_rule::add(span<const float> delta, uint64_t staleness) {
  const double w = s_(staleness);
  if (auto err = weighted_accumulate(span<float>{acc_}, delta, w))
    return err;
  weight_sum_ += w;
  ++count_;
  return caf::none;
}

caf::error fedbuff_rule::apply(span<float> global) {
  if (count_ == 0 || !(weight_sum_ > 0))
    return make_fl_error(errc::invalid_field, "no buffered update");
  // global += (eta / K) * sum(s_i d_i): dividing by the buffered count, not
  // by sum(s_i), keeps the damping of stale deltas (Algorithm 1 of the
  // paper); normalising by sum(s_i) would cancel it.
  if (auto err = weighted_accumulate(global, span<const float>{acc_},
                                     server_lr_
                                       / static_cast<double>(count_)))
    return err;
  zero(span<float>{acc_});
  weight_sum_ = 0;
  count_ = 0;
  return caf::none;
}

} // namespace fl
