#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/expected.hpp>

namespace fl {

/// FedBuff on a logical clock: the whole run planned up front, so that it
/// does not depend on thread timing or message arrival order.
///
/// FedBuff (Nguyen et al. 2022) hands the current model to up to
/// `concurrency` clients; every K returned deltas make the next version,
/// and a delta's staleness is the number of versions made while it
/// trained. Which delta lands in which buffer depends on when each client
/// finishes. Here a client's training takes a logical time (its announced
/// samples times its speed factor), and the schedule is the FedBuff run
/// those times give, computed as a discrete-event simulation:
///   - idle clients queue in a seeded order (ids sorted first), and a
///     client becomes idle again when its task completes;
///   - up to `concurrency` tasks are out at once, each on the newest version;
///   - tasks complete in order of logical completion time (ties by task
///     number); the i-th completion (0-based) belongs to buffer i / K, and
///     buffer b's K deltas make version b + 1.
/// The actors then carry the plan out: a task starts once its client asked
/// for work and its base version exists, and a delta is folded into its
/// buffer's sum even if it arrives before deltas of earlier buffers (it
/// waits for its buffer). Given the same members, speeds and seed the
/// result is the same bits whatever the timing.
class fedbuff_schedule {
public:
  struct client {
    std::string id;
    double duration = 1; ///< logical training time (> 0)
  };

  struct task {
    uint64_t seq = 0;    ///< dispatch order
    std::string client;
    uint64_t base = 0;   ///< trains on the model after `base` buffers
    uint64_t buffer = 0; ///< its delta belongs to this buffer
    uint64_t staleness() const { return buffer - base; }
  };

  /// Plans `buffers` buffers of `k` deltas each.
  /// Errors: `invalid_config` with no clients, k or concurrency 0, or a
  /// duration that is not positive and finite.
  static caf::expected<fedbuff_schedule>
  plan(std::vector<client> clients, uint64_t concurrency, uint64_t k,
       uint64_t buffers, uint64_t seed);

  /// Every task, in dispatch order; only tasks whose delta is used.
  const std::vector<task>& tasks() const noexcept { return tasks_; }

  /// The tasks of client `id`, in the order it runs them (indexes into
  /// tasks()).
  const std::vector<size_t>& tasks_of(const std::string& id) const;

  uint64_t buffers() const noexcept { return buffers_; }
  uint64_t k() const noexcept { return k_; }

private:
  std::vector<task> tasks_;
  std::unordered_map<std::string, std::vector<size_t>> by_client_;
  uint64_t buffers_ = 0;
  uint64_t k_ = 1;
};

} // namespace fl
