#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/async_server.hpp"
#include "actors/server.hpp"
#include "runtime/aggregation/strategy_registry.hpp"
#include "runtime/core/config.hpp"
#include "runtime/data/dataset.hpp"
#include "runtime/training/trainer.hpp"

namespace fl {

/// What a finished federation reports (a server's view: `simulate` and
/// `serve`).
struct federation_result {
  std::vector<round_record> rounds;   ///< sync mode: one per round
  std::vector<async_record> versions; ///< async, fedbuff: per evaluation
  double final_accuracy = -1;         ///< last evaluated model; -1 if none
  double final_loss = -1;
  double wall_seconds = 0;
};

/// Starts a federation from an application: the same roles, settings and
/// files as `fl-node`, with the application's own trainer, dataset and
/// strategy where it supplies them. Each run (`simulate`, `serve`, `join`,
/// `relay`) builds its actor system, blocks until its role has finished
/// and shuts everything down before it returns, so a `federation` can run
/// again (e.g. with other settings) and nothing outlives the call.
///
///   fl::federation fed;                      // fl-node's defaults (W1)
///   fed.set("federation.rounds", "5");
///   fed.use_trainer([] { return std::make_unique<my_trainer>(); });
///   auto result = fed.simulate();            // caf::expected
///
/// Not thread-safe: one run at a time per object. Runs log through spdlog
/// to stderr (and `output.log_file`) at `output.log_level`.
class federation {
public:
  /// Every setting at its default (workload W1: FedAvg on Fashion-MNIST).
  federation();
  explicit federation(node_config settings);

  /// Settings from a TOML file (as `fl-node --config`), over the defaults.
  /// Errors: `io_error`, `invalid_config` naming the key and line.
  static caf::expected<federation> from_file(const std::string& path);

  /// The settings; change them freely before a run.
  node_config& settings() noexcept { return cfg_; }
  const node_config& settings() const noexcept { return cfg_; }

  /// Sets one setting by its TOML key from text, e.g.
  /// `set("federation.rounds", "5")`. Errors: `invalid_config`.
  caf::error set(const std::string& key, const std::string& value);

  /// Trains with `make`'s trainers instead of `training.model`. With a
  /// dataset (`use_dataset`) the clients' samples come from partitioning
  /// it; without one each client gets 600 consecutive sample indices
  /// (client c: [600 c, 600 c + 600)) that the trainer maps to its data.
  federation& use_trainer(trainer_factory make);

  /// Trains on `data` instead of loading [data]; partitioned over the
  /// clients as `data.partition` says. With no custom trainer, the model
  /// named in `training.model` (built-in or TorchScript) trains on it.
  federation& use_dataset(std::shared_ptr<const dataset> data);

  /// Registers a strategy under `name` (see strategy_registry.hpp) and
  /// selects it (`strategy.name`). Registration is process-wide.
  federation& use_strategy(const std::string& name, strategy_factory make);

  /// Registers and selects one strategy object under its `name()`; every
  /// run of this process that selects the name uses this object (and its
  /// state, if it keeps any).
  federation& use_strategy(std::shared_ptr<strategy> s);

  /// trace | debug | info | warn | error | off (`output.log_level`).
  federation& log_level(std::string level);

  /// Server and `federation.clients` clients in this process.
  /// Errors: `invalid_config` (settings, plugins, data), or the reason the
  /// run failed (its first error, also logged).
  caf::expected<federation_result> simulate();

  /// A server published on `node.host:node.port`; returns when the run
  /// ends. Errors: as simulate.
  caf::expected<federation_result> serve();

  /// Hosts `federation.clients` clients joined to `node.upstream` until
  /// the server ends the run. Errors: as simulate.
  caf::error join();

  /// A scheduler (middle server) on `node.host:node.port` joined to
  /// `node.upstream`. Errors: as simulate.
  caf::error relay();

private:
  enum class role { sim, server, client, scheduler };
  caf::expected<federation_result> run(role r);

  node_config cfg_;
  trainer_factory trainer_;
  std::shared_ptr<const dataset> data_;
};

} // namespace fl

/// The engine's namespace under the project's name, for applications.
namespace fedactor = fl;
