#pragma once

#include <cstdint>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/core/span.hpp"
#include "runtime/aggregation/staleness.hpp"

namespace fl {

/// Staleness of an update trained from `base` when the server is at
/// `current`. Errors: `version_from_future` if base > current; `too_stale`
/// if the staleness exceeds `max_staleness`.
caf::expected<uint64_t> staleness_of(uint64_t current, uint64_t base,
                                     uint64_t max_staleness);

/// FedAsync (Xie, Koyejo, Gupta 2019, arXiv:1903.03934): every update is
/// mixed in on arrival, w <- (1 - a_t) w + a_t w_client with
/// a_t = alpha * s(staleness). Pure; no I/O.
class fedasync_rule {
public:
  fedasync_rule(double alpha, staleness_fn s) : alpha_(alpha), s_(s) {}

  /// The mixing weight a_t for an update of the given staleness.
  double weight(uint64_t staleness) const { return alpha_ * s_(staleness); }

  /// Mixes `client` (full parameters) into `global`.
  /// Errors: `size_mismatch`.
  caf::error apply(span<float> global, span<const float> client,
                   uint64_t staleness) const;

private:
  double alpha_;
  staleness_fn s_;
};

/// FedBuff (Nguyen et al., AISTATS 2022, arXiv:2106.06639): client deltas
/// are buffered into a staleness-weighted sum; every K deltas the server
/// steps w <- w + eta * sum(s_i d_i) / K and empties the buffer (stale deltas
/// count less, and so does the step they make).
/// Memory: one model-sized accumulator, whatever K is. Pure; no I/O.
class fedbuff_rule {
public:
  fedbuff_rule(size_t model_size, uint64_t k, double server_lr,
               staleness_fn s);

  /// Adds one delta. Errors: `size_mismatch`.
  caf::error add(span<const float> delta, uint64_t staleness);

  /// True when K deltas are buffered.
  bool ready() const { return count_ >= k_; }
  uint64_t buffered() const { return count_; }

  /// Applies the buffered step to `global` and empties the buffer.
  /// Errors: `size_mismatch`; `invalid_field` if nothing is buffered.
  caf::error apply(span<float> global);

private:
  std::vector<float> acc_;
  double weight_sum_ = 0;
  uint64_t count_ = 0;
  uint64_t k_;
  double server_lr_;
  staleness_fn s_;
};

} // namespace fl
