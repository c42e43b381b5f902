#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fl {

/// The outcome of one client-side evaluation (sample-weighted means).
struct client_eval_summary {
  uint64_t clients = 0; ///< clients that answered with a result
  double loss = -1;
  double accuracy = -1;
  size_t missing = 0;   ///< asked but never answered (deadline)
};

/// Client-side evaluations in flight, keyed by round (sync) or model
/// version (async): who still has to answer and the weighted sums so far.
/// Pure bookkeeping, no I/O: the serving actor sends Evaluate, feeds the
/// answers and closes an evaluation when everyone answered or its deadline
/// passed.
class client_evaluations {
public:
  /// Starts evaluation `key`, awaiting `ids`.
  void start(uint64_t key, const std::vector<std::string>& ids) {
    auto& e = open_[key];
    e.pending.insert(ids.begin(), ids.end());
  }

  /// Whether evaluation `key` is still open.
  bool open(uint64_t key) const { return open_.count(key) > 0; }

  /// Records `id`'s answer to `key`: a result weighing `samples` (already
  /// capped by the caller), or none when it could not evaluate. Returns
  /// true when that was the last awaited answer; false also for an answer
  /// nobody asked for (ignored).
  bool answer(uint64_t key, const std::string& id,
              std::optional<std::pair<double, double>> loss_accuracy,
              double samples) {
    auto i = open_.find(key);
    if (i == open_.end() || !i->second.pending.erase(id))
      return false;
    if (loss_accuracy && samples > 0) {
      i->second.loss += loss_accuracy->first * samples;
      i->second.accuracy += loss_accuracy->second * samples;
      i->second.samples += samples;
      ++i->second.answered;
    }
    return i->second.pending.empty();
  }

  /// Whether `id`'s answer to `key` is awaited.
  bool awaits(uint64_t key, const std::string& id) const {
    auto i = open_.find(key);
    return i != open_.end() && i->second.pending.count(id) > 0;
  }

  /// Closes `key` (all answered, or the deadline): its summary, or none if
  /// it was not open.
  std::optional<client_eval_summary> close(uint64_t key) {
    auto i = open_.find(key);
    if (i == open_.end())
      return std::nullopt;
    client_eval_summary out;
    out.clients = i->second.answered;
    out.missing = i->second.pending.size();
    if (i->second.samples > 0) {
      out.loss = i->second.loss / i->second.samples;
      out.accuracy = i->second.accuracy / i->second.samples;
    }
    open_.erase(i);
    return out;
  }

  /// The keys of the evaluations still open, in order.
  std::vector<uint64_t> keys() const {
    std::vector<uint64_t> out;
    for (const auto& kv : open_)
      out.push_back(kv.first);
    return out;
  }

private:
  struct state {
    std::set<std::string> pending;
    double loss = 0, accuracy = 0, samples = 0;
    uint64_t answered = 0;
  };
  std::map<uint64_t, state> open_;
};

} // namespace fl
