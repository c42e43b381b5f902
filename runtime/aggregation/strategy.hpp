#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "runtime/core/train_metrics.hpp"

namespace fl {

/// A client the server may sample.
struct client_info {
  std::string id;
  uint64_t num_samples = 0;
};

/// An update the server accepted and folded into the round's sum.
struct fit_result {
  std::string node_id;
  uint64_t num_samples = 0;
  train_metrics metrics;
};

/// A sampled client that produced no usable update: timeout, lost peer,
/// rejected message. Failures are data; the strategy decides what they mean.
struct fit_failure {
  std::string node_id;
  caf::error reason;
};

/// A federated strategy in Flower's shape, without I/O, clocks or actors:
/// the server owns the loop and asks the strategy what to do. Updates are
/// folded into a running weighted sum as they arrive (memory O(model)), so
/// the strategy supplies each update's weight and decides at the end of the
/// round whether the folded average becomes the new global model.
class strategy {
public:
  virtual ~strategy() = default;

  /// Short name for logs and metrics, e.g. "fedavg".
  virtual std::string name() const = 0;

  /// Picks the clients to train in `round` (1-based) from `available`.
  /// Deterministic for a given seed, round and input.
  virtual std::vector<std::string>
  configure_fit(uint64_t round, const std::vector<client_info>& available) = 0;

  /// The weight of one accepted update in the weighted mean (> 0).
  virtual double fit_weight(const fit_result& r) const = 0;

  /// Decides whether the round's folded mean replaces the global model.
  /// Returns none to accept; an error (kept as the round's outcome in the
  /// metrics) leaves the previous model in place.
  virtual caf::error aggregate_fit(uint64_t round,
                                   const std::vector<fit_result>& results,
                                   const std::vector<fit_failure>& failures,
                                   size_t sampled) const = 0;
};

} // namespace fl
