#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

namespace fl {

/// Keeps evaluation from falling behind unboundedly. At most `limit`
/// evaluations run at once (one per evaluation worker); a model due for
/// evaluation beyond that waits. With `skip_superseded`, a waiting model is
/// dropped as soon as a newer one is due (only the newest waits), and the
/// run goes on at training speed; without it the owner holds training back
/// (blocked()) until the backlog drains, so the figures never hide an
/// evaluation that lags. Either way at most limit + 1 models are pending.
/// A plain class: the owner sends the evaluations and reports completions.
template <class Item>
class evaluation_backlog {
public:
  evaluation_backlog(size_t limit, bool skip_superseded)
    : limit_(limit == 0 ? 1 : limit), skip_(skip_superseded) {}

  /// What became of an offered item.
  struct offer_result {
    bool start = false;          ///< evaluate it now
    std::optional<Item> skipped; ///< a waiting item it superseded
  };

  /// `x` is due for evaluation.
  offer_result offer(Item x) {
    offer_result r;
    if (running_ < limit_) {
      ++running_;
      r.start = true;
      return r;
    }
    if (skip_ && !waiting_.empty()) {
      r.skipped = std::move(waiting_.front());
      waiting_.pop_front();
    }
    waiting_.push_back(std::move(x));
    return r;
  }

  /// An evaluation finished; returns the next item to evaluate, if any.
  std::optional<Item> done() {
    if (running_ > 0)
      --running_;
    if (waiting_.empty())
      return std::nullopt;
    ++running_;
    auto next = std::move(waiting_.front());
    waiting_.pop_front();
    return next;
  }

  /// Training should wait: a model waits for evaluation and skipping is
  /// off.
  bool blocked() const { return !skip_ && !waiting_.empty(); }

  size_t running() const { return running_; }
  size_t waiting() const { return waiting_.size(); }
  bool idle() const { return running_ == 0 && waiting_.empty(); }

private:
  size_t limit_;
  bool skip_;
  size_t running_ = 0;
  std::deque<Item> waiting_;
};

} // namespace fl
