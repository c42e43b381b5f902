#pragma once

// The strategy API: how a federation samples clients, what it asks each of
// them to do, how their results become the next global model and how
// clients evaluate. Sync servers and the FedBuff/FedAsync server use the
// same interface (the async modes call configure_fit for no one and ask
// fit_config per client instead).
//
// Writing your own: derive from `strategy` (or from `fedavg`, which already
// samples uniformly and checks a quorum), return your aggregation_plan, and
// register a factory under a name (strategy_registry.hpp) so that
// `--strategy NAME` and `strategy.name` select it. A strategy never sees
// model bytes: the plan tells the aggregation actor which rule to apply
// (streaming mean or a robust rule over the resident updates), which
// server optimizer to step, and whether to keep SCAFFOLD control variates;
// those objects live on the aggregation actor's thread and their state is
// checkpointed with the model.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "runtime/aggregation/client_info.hpp"
#include "runtime/aggregation/robust.hpp"
#include "runtime/aggregation/server_optimizer.hpp"
#include "runtime/core/config_map.hpp"
#include "runtime/core/train_metrics.hpp"

namespace fl {

/// An update the server accepted and folded into the round's sum.
struct fit_result {
  std::string node_id;
  uint64_t num_samples = 0;
  train_metrics metrics;
  config_map extra; ///< the client's own metrics (Update.extra)
  uint64_t upload_bytes = 0; ///< model payload received (compressed or not)
};

/// A sampled client that produced no usable update: timeout, lost peer,
/// rejected message. Failures are data; the strategy decides what they mean.
struct fit_failure {
  std::string node_id;
  caf::error reason;
};

/// How the aggregation actor turns a round's updates into the next model.
/// Read once, when the server starts.
struct aggregation_plan {
  /// The combination rule; `weighted_mean` streams (O(model) memory), the
  /// robust rules keep the round's K updates resident (K x model).
  robust_settings robust;
  /// Norm bounding (Sun et al. 2019, "Can You Really Backdoor Federated
  /// Learning?", arXiv:1911.07963): every update's change to the model is
  /// scaled down to at most this L2 norm before it is combined; 0 = off.
  double norm_bound = 0;
  /// Makes the server optimizer that steps from the current model towards
  /// the combined one; null = the combined model is the next model.
  std::function<std::unique_ptr<server_optimizer>()> optimizer;
  /// SCAFFOLD: keep control variates for `total_clients` clients training
  /// with learning rate `client_lr` and send each sampled client its
  /// correction c - c_i with the activation.
  bool control_variates = false;
  uint64_t total_clients = 0;
  double client_lr = 0;
};

/// A federated strategy in Flower's shape, without I/O, clocks or actors:
/// the server owns the loop and asks the strategy what to do.
class strategy {
public:
  virtual ~strategy() = default;

  /// Short name for logs and metrics, e.g. "fedavg".
  virtual std::string name() const = 0;

  /// Picks the clients to train in `round` (1-based) from `available`, the
  /// members that can train now, in id order (so a sample depends on the
  /// set of clients, not on the order they joined). Deterministic for a
  /// given seed, round and input; with a million members, pick by index
  /// rather than copying the list.
  virtual std::vector<std::string>
  configure_fit(uint64_t round, const std::vector<client_info>& available) = 0;

  /// What client `id` is asked to do in `round` (async: the model version
  /// it is sent): keys the built-in trainers read are "epochs", "lr",
  /// "batch_size", "momentum", "weight_decay" and "prox_mu"; any other key
  /// reaches a custom trainer untouched. Empty = the client's own settings.
  virtual config_map fit_config(uint64_t round, const std::string& id) const {
    (void) round;
    (void) id;
    return {};
  }

  /// The weight of one accepted update in the weighted mean (> 0).
  virtual double fit_weight(const fit_result& r) const = 0;

  /// How the updates become the next model (see aggregation_plan).
  virtual aggregation_plan plan() const { return {}; }

  /// The step from the current model x to the combined model m is scaled:
  /// next = x + scale (m - x), before any server optimizer. 1 = FedAvg.
  virtual double step_scale(const std::vector<fit_result>& results) const {
    (void) results;
    return 1;
  }

  /// Decides whether the round's folded mean replaces the global model.
  /// Returns none to accept; an error (kept as the round's outcome in the
  /// metrics) leaves the previous model in place.
  virtual caf::error aggregate_fit(uint64_t round,
                                   const std::vector<fit_result>& results,
                                   const std::vector<fit_failure>& failures,
                                   size_t sampled) const = 0;

  /// The clients that evaluate the model accepted in `round` on their own
  /// held-out data (client-side evaluation); empty = none this round.
  virtual std::vector<std::string>
  configure_evaluate(uint64_t round,
                     const std::vector<client_info>& available) {
    (void) round;
    (void) available;
    return {};
  }
};

} // namespace fl
