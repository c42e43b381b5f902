#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/aggregation/strategy.hpp"

namespace fl {

/// Everything the built-in strategies can be configured with (the
/// `[strategy]` table, plus what they need from the rest of the config).
/// A setting that does not apply to the chosen strategy is ignored.
struct strategy_settings {
  std::string name = "fedavg";
  // Sampling (all strategies).
  uint64_t clients_per_round = 10;
  double quorum = 1.0;
  uint64_t seed = 0;
  uint64_t total_clients = 100; ///< N, for SCAFFOLD's control variate
  // Server optimizers; 0 = the strategy's default (1 for fedavgm and
  // scaffold, 0.01 for the adaptive ones).
  double server_lr = 0;
  double server_momentum = 0.9; ///< fedavgm
  double beta1 = 0.9;           ///< fedadam, fedyogi, fedadagrad
  double beta2 = 0.99;          ///< fedadam, fedyogi
  double tau = 1e-3;            ///< adaptivity (epsilon of Reddi et al.)
  // Client-side algorithms.
  double prox_mu = 0;   ///< fedprox; 0 = 0.01
  double client_lr = 0.05; ///< the clients' learning rate (scaffold)
  // Robust rules.
  double trim_beta = 0.1;
  uint64_t krum_f = 1;
  uint64_t multi_krum_m = 0; ///< 0 = clients_per_round - krum_f
  double norm_bound = 0;     ///< norm-bound; 0 = 1.0
  // Client-side evaluation: every N rounds, M clients (0 = off / all
  // clients_per_round).
  uint64_t client_eval_every = 0;
  uint64_t client_eval_clients = 0;
};

/// Makes a strategy from settings. Errors: `invalid_config` for an unknown
/// name (listing the known ones) or settings out of range for it.
using strategy_factory = std::function<caf::expected<std::shared_ptr<strategy>>(
  const strategy_settings&)>;

/// The names `make_strategy` knows, sorted (built-in and registered).
std::vector<std::string> strategy_names();

/// Builds the strategy `s.name` names.
caf::expected<std::shared_ptr<strategy>>
make_strategy(const strategy_settings& s);

/// Adds (or replaces) a named factory, e.g. an application's own strategy;
/// `--strategy NAME` then selects it. Thread-safe.
void register_strategy(const std::string& name, strategy_factory make);

} // namespace fl
