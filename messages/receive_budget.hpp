#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <utility>
#include <vector>
#include <cstdint>
#include <functional>
#include <memory>

namespace fl {

/// Bounds the model bytes a receiving node holds in streamed transfers:
/// the destination buffers of transfers being received plus those handed
/// on and not yet released (an update waiting to be folded). A transfer
/// that does not fit waits (its sender stops after its window) until
/// buffers are released; one transfer is always allowed when nothing is
/// held, so a model above the budget still moves, one at a time.
///
/// Thread-safe: buffers are released wherever their last owner drops them.
class receive_budget {
public:
  /// `limit_bytes` 0 = no bound. `on_release` is called (on the releasing
  /// thread) after a buffer of this budget was freed: the owner retries
  /// waiting transfers. It must be cheap and thread-safe (e.g. a message
  /// to an actor). Up to `max_pooled` released buffers are kept for reuse
  /// by transfers of the same size (rounds repeat one model size), as long
  /// as held and kept buffers together stay within the limit.
  receive_budget(uint64_t limit_bytes, std::function<void()> on_release,
                 size_t max_pooled = 2);

  /// A 64-byte aligned, uninitialised buffer of `numel` floats, counted
  /// against the budget until its last owner drops it; null when the
  /// budget does not allow it now. Throws std::bad_alloc like new.
  std::shared_ptr<float> try_allocate(uint64_t numel);

  /// Like try_allocate, but waits until the budget allows it; null once
  /// `stop` is true. For a thread of its own (a bulk link's reader), never
  /// an actor's.
  std::shared_ptr<float> allocate_waiting(uint64_t numel,
                                          const std::atomic<bool>& stop);

  /// Bytes held now.
  uint64_t in_use() const noexcept;

  uint64_t limit() const noexcept;

private:
  struct ledger {
    uint64_t limit = 0;
    std::atomic<uint64_t> in_use{0};
    std::function<void()> on_release;
    std::mutex mx;
    std::condition_variable released;
    size_t max_pooled = 0;
    std::vector<std::pair<uint64_t, float*>> pool; ///< numel, buffer
    ~ledger();
  };
  std::shared_ptr<ledger> ledger_;
};

/// A 64-byte aligned, uninitialised buffer of `numel` floats outside any
/// budget. Throws std::bad_alloc.
std::shared_ptr<float> allocate_floats(uint64_t numel);

} // namespace fl
