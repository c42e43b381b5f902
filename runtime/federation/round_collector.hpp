#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "runtime/aggregation/strategy.hpp"

namespace fl {

/// What became of an update offered to the collector.
enum class update_admission {
  accepted,     ///< the sender was waited for; its update is now in flight
  no_round,     ///< no round is collecting
  wrong_round,  ///< for an earlier (late) or later round
  not_expected, ///< not sampled, or already answered / failed this round
};

/// The bookkeeping of one synchronous round, shared by the sync server and
/// the scheduler: who was sampled, who is still awaited, whose update is
/// being folded (in flight at the aggregation actor), and the results and
/// failures so far. A plain class with no clock and no actor: the owner
/// reports arrivals, fold outcomes, losses and the deadline.
///
/// Lifecycle: start() -> admit()/folded()/fold_failed()/fail() ...
/// -> complete() -> take(). A round is complete when nobody is awaited
/// and no fold is in flight (after the deadline, the ones awaited became
/// failures).
class round_collector {
public:
  /// Opens round `round` (>= 1) waiting for `sampled`.
  void start(uint64_t round, const std::vector<std::string>& sampled);

  /// An update from `id` for `round` arrived. When accepted, the id moves
  /// from awaited to in flight until folded() or fold_failed().
  update_admission admit(const std::string& id, uint64_t round);

  /// The in-flight update of `r.node_id` was folded.
  void folded(fit_result r);

  /// The in-flight update of `id` was refused while folding.
  void fold_failed(const std::string& id, caf::error why);

  /// `id` will not answer (lost, reported a failure, sent a bad update).
  /// Returns false if it was not awaited in this round.
  bool fail(const std::string& id, caf::error why);

  /// The deadline of `round` passed: everyone still awaited fails with a
  /// timeout. Returns how many; 0 if `round` is not the open round.
  size_t deadline(uint64_t round);

  /// Abandons the open round (no results are kept).
  void abandon();

  /// True while a round is open.
  bool open() const noexcept { return round_ != 0; }

  /// True when the open round can be closed: nobody awaited, nothing in
  /// flight.
  bool complete() const noexcept {
    return open() && awaited_.empty() && in_flight_.empty();
  }

  uint64_t round() const noexcept { return round_; }
  size_t awaited() const noexcept { return awaited_.size(); }
  size_t in_flight() const noexcept { return in_flight_.size(); }
  const std::vector<fit_result>& results() const noexcept { return results_; }
  const std::vector<fit_failure>& failures() const noexcept {
    return failures_;
  }

  /// Closes the round and hands over its results and failures.
  /// REQUIRES: complete().
  std::pair<std::vector<fit_result>, std::vector<fit_failure>> take();

private:
  uint64_t round_ = 0;
  std::set<std::string> awaited_;
  std::set<std::string> in_flight_;
  std::vector<fit_result> results_;
  std::vector<fit_failure> failures_;
};

} // namespace fl
