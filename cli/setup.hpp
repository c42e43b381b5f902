#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/async_server.hpp"
#include "actors/client.hpp"
#include "actors/server.hpp"
#include "runtime/core/config.hpp"
#include "runtime/federation/client_profiles.hpp"
#include "runtime/data/dataset_loader.hpp"
#include "runtime/aggregation/strategy_registry.hpp"
#include "runtime/compression/compressor.hpp"
#include "runtime/training/trainer.hpp"

namespace fl::cli {

/// Wiring shared by the subcommands: which trainer, which data per client,
/// and the server's settings, all derived from the config.

/// The trainers of a node and the data they share.
struct training_setup {
  trainer_factory make;
  std::shared_ptr<const dataset> data; ///< null for "synthetic"
};

/// Where `cfg` says the data comes from ([data]).
data_source data_source_of(const node_config& cfg);

/// What an embedding application puts in place of the config's choices
/// (see cli/federation.hpp); empty members keep the config's.
struct node_plugins {
  /// Trainers instead of `training.model`. Without `data` every client
  /// gets 600 consecutive sample indices (client c: [600 c, 600 c + 600)),
  /// which the trainer maps to its own data.
  trainer_factory trainer;
  std::shared_ptr<const dataset> data; ///< instead of loading [data]
};

/// Loads the dataset (once, shared by all trainers; `plug.data` when given
/// instead) and builds the trainer factory for `cfg.training.model` (or
/// takes `plug.trainer`).
/// Errors: `invalid_config`; `io_error` when the dataset cannot be read.
caf::expected<training_setup> make_training(const node_config& cfg,
                                            const node_plugins& plug = {});

/// The strategy settings `cfg` describes ([strategy], plus sampling and
/// the clients' learning rate).
strategy_settings strategy_settings_of(const node_config& cfg);

/// The clients' compression settings ([compression]).
compression_settings compression_of(const node_config& cfg);

/// Checks what `validate(cfg)` cannot: the strategy name and its settings
/// (through the registry), compression and attack settings, and which
/// strategies work in which mode. Errors: `invalid_config` with the reason.
caf::error validate_plugins(const node_config& cfg);

/// The server's settings from the config (metrics, deadline, checkpoints).
server_settings make_server_settings(const node_config& cfg);

/// The [guard] section as the aggregation actor's settings.
guard_settings guard_settings_of(const node_config& cfg);

/// The async server's settings (mode async or fedbuff) from the config.
async_server_settings make_async_settings(const node_config& cfg);

/// The logs a server fills, whichever mode runs.
struct run_logs {
  std::shared_ptr<round_log> rounds = std::make_shared<round_log>();
  std::shared_ptr<async_log> versions = std::make_shared<async_log>();
};

/// Spawns the server for `cfg.federation.mode` (sync: FedAvg rounds; async:
/// FedAsync; fedbuff: FedBuff) with `min_clients` joins to wait for.
/// `profiles` (simulation only: it shares the clients' clock) keeps
/// offline clients out of the sync server's samples and gives the FedBuff
/// logical clock each client's speed.
/// Errors: the aggregator cannot be built (aggregation.device = cuda
/// without a usable GPU).
/// Where a resumed server continues from (zeros for a fresh start).
struct resume_point {
  uint64_t round = 0;
  uint64_t version = 0;
};

/// The saved state of `strat` when `cfg` resumes (empty otherwise).
/// Errors: `io_error` when a stateful strategy's file is missing,
/// `invalid_config` when it belongs to another model version.
caf::expected<strategy_state>
resumed_strategy_state(const node_config& cfg, const strategy& strat,
                       resume_point from);


/// Creates the checkpoint folder and the metrics files' folders when
/// missing, and checks they can be written, so that a run never trains
/// for hours to find it cannot save. Errors: `io_error` naming the folder.
caf::error prepare_output_folders(const node_config& cfg);

/// How many evaluations run at once (federation.eval_workers; 0 = a
/// quarter of the cores, at least 1): the evaluator pool's size.
uint64_t eval_workers(const node_config& cfg);

caf::expected<caf::actor>
spawn_server_for(caf::actor_system& sys, const node_config& cfg,
                 uint64_t min_clients, flat_model initial,
                 caf::actor evaluator, const run_logs& logs,
                 const loggers& log, resume_point from = {},
                 const std::string& command = "server",
                 std::shared_ptr<const client_profiles> profiles = nullptr);

/// The initial global model: the trainer's seeded initialisation, or with
/// `output.resume` the checkpoint (whose layout must match the trainer's).
/// Errors: from load_checkpoint; `layout_mismatch`.
caf::expected<std::pair<flat_model, resume_point>>
initial_model(const node_config& cfg, trainer& t, const loggers& log);

/// Refuses, before anything starts, a model that could not travel:
/// `invalid_config` when it is larger than transport.max_message_mib (every
/// node enforces that limit on what it sends and accepts).
caf::error check_model_fits(const node_config& cfg, const model_layout& l);

/// The aggregator `cfg.aggregation` asks for; logs a CPU fallback.
caf::expected<std::shared_ptr<aggregator>>
make_folder(const node_config& cfg, const loggers& log);

/// Prints the summary of whichever server ran.
void print_run_summary(const node_config& cfg, const run_logs& logs,
                       double wall_seconds);

/// Parses "HOST:PORT". Errors: `invalid_config`.
caf::expected<std::pair<std::string, uint16_t>>
parse_endpoint(const std::string& x);

/// Prints the run's summary (from the server's round log) to stdout.
void print_summary(const round_log& log, double wall_seconds);

} // namespace fl::cli
