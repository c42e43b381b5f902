#pragma once

#include <cstddef>
#include <string>

#include <caf/error.hpp>

#include "messages/atoms.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

/// A server's checkpoints: how many the aggregation actor still owes, how
/// many failed. A run whose checkpoint failed does not end as a success:
/// the server quits, after the last checkpoint settled, with an error that
/// says so (the process exits non-zero), since `--resume` would otherwise
/// find an older model, or none, later.
struct checkpoint_tracker {
  size_t in_flight = 0;
  size_t failed = 0;
  caf::error last_failure;
  bool quit_when_settled = false; ///< the server waits for the last one

  /// `stop_reason` when set; else an error naming the failed checkpoints
  /// (none when all succeeded).
  caf::error end_reason(const caf::error& stop_reason) const {
    if (stop_reason || failed == 0)
      return stop_reason;
    return make_fl_error(errc::io_error,
                         std::to_string(failed) + " checkpoint(s) failed, "
                           + "the last with: " + describe(last_failure)
                           + "; the checkpoint folder does not hold the "
                             "final model");
  }
};

/// Quits `self` with its end reason now, or once its checkpoints settled.
/// `Actor`'s state has `checkpoints`, `stop_reason` and `log`.
template <class Actor>
void quit_after_checkpoints(Actor* self) {
  auto& st = self->state;
  if (st.checkpoints.in_flight > 0) {
    st.checkpoints.quit_when_settled = true;
    return;
  }
  self->quit(st.checkpoints.end_reason(st.stop_reason));
}

/// Asks `agg` to checkpoint the current model after `round` (0 for the
/// asynchronous modes); a failure is logged and counted.
template <class Actor, class Handle>
void request_checkpoint(Actor* self, const Handle& agg, uint64_t round) {
  ++self->state.checkpoints.in_flight;
  auto settle = [self](caf::error err) {
    auto& t = self->state.checkpoints;
    --t.in_flight;
    if (err) {
      ++t.failed;
      self->state.log.node->error("checkpoint failed: {}", describe(err));
      t.last_failure = std::move(err);
    }
    if (t.quit_when_settled && t.in_flight == 0)
      self->quit(t.end_reason(self->state.stop_reason));
  };
  self->request(agg, caf::infinite, checkpoint_atom::value, round)
    .then([settle](uint64_t) { settle(caf::error{}); },
          [settle](caf::error& err) { settle(std::move(err)); });
}

} // namespace fl
