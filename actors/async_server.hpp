#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>

#include "runtime/aggregation/strategy.hpp"
#include "runtime/storage/strategy_state.hpp"
#include <caf/actor_system.hpp>

#include "actors/server.hpp"
#include "runtime/core/config.hpp"
#include "runtime/core/flat_model.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/federation/client_profiles.hpp"
#include "runtime/aggregation/staleness.hpp"

namespace fl {

/// What the asynchronous server records at each evaluation.
struct async_record {
  uint64_t model_version = 0;
  double elapsed_seconds = 0;
  uint64_t updates_applied = 0;  ///< since the start
  uint64_t updates_dropped = 0;  ///< since the start (stale, future, late,
                                 ///< refused by the guard)
  uint64_t models_rejected = 0;  ///< candidates the guard refused, since
                                 ///< the start
  double test_loss = -1;
  double test_accuracy = -1;
  double eval_seconds = 0;    ///< how long its evaluation took
  bool eval_skipped = false;  ///< superseded before it was evaluated
  double recorded_seconds = 0; ///< when the record was complete
  /// Client-side evaluation of this version (sample-weighted over the
  /// clients that answered); clients_evaluated = 0 when none ran.
  uint64_t clients_evaluated = 0;
  double client_eval_loss = -1;
  double client_eval_accuracy = -1;
  /// Staleness -> number of applied updates, since the previous record.
  std::map<uint64_t, uint64_t> staleness;
};

using async_log = record_log<async_record>;

struct async_server_settings {
  std::string id = "server";
  federation_mode mode = federation_mode::async; ///< async | fedbuff
  uint64_t min_clients = 1;      ///< serve models once this many joined
  uint64_t concurrency = 10;     ///< clients holding a model at once
  double alpha = 0.6;            ///< FedAsync
  staleness_fn staleness;        ///< s(t - tau)
  uint64_t max_staleness = 100;
  uint64_t buffer_k = 10;        ///< FedBuff
  /// The strategy (strategy.hpp): its fit_config goes out with every
  /// model, its plan decides how FedBuff combines a buffer (robust rules,
  /// server optimizer, norm bound); null = plain FedAsync / FedBuff.
  std::shared_ptr<strategy> strat;
  /// The strategy's saved state when resuming (optimizer moments).
  strategy_state initial_state;
  double server_lr = 1.0;        ///< FedBuff
  uint64_t max_updates = 300;    ///< stop after this many applied (0 = off)
  double max_seconds = 0;        ///< stop after this long (0 = off)
  double target_accuracy = 0;    ///< stop when reached (0 = off)
  uint64_t eval_every = 10;      ///< evaluate every N versions
  uint64_t eval_limit = 1;       ///< evaluations at once (see server.hpp)
  bool eval_skip_superseded = false; ///< else dispatch waits for them
  double update_deadline_s = 120; ///< a model out longer frees its slot
  double exit_grace_s = 10;
  uint32_t heartbeat_ms = 5000;
  std::string metrics_path;      ///< "" = none
  std::string manifest;          ///< first metrics line ("" = none)
  std::string client_metrics_path; ///< one JSON line per update ("" = none)
  std::string checkpoint_dir;    ///< "" = none (written at each evaluation)
  uint64_t start_version = 0;    ///< resume: continue from this version
  /// The backend of its aggregation actor (CPU or CUDA), which mixes
  /// (FedAsync) or folds and applies (FedBuff); null = CPU.
  std::shared_ptr<aggregator> folder;
  guard_settings guard;           ///< bounds on updates and models
  bool detached_aggregation = true; ///< off for deterministic tests
  /// FedBuff: carry out a plan made on a logical clock
  /// (runtime/federation/fedbuff_schedule.hpp) instead of following
  /// arrival order, so the run gives the same bits whatever the timing.
  /// Needs max_updates > 0 (rounded up to whole buffers) and the members
  /// present when serving starts; a member lost later leaves its deltas
  /// out (the run stays complete, not reproducible).
  bool logical_clock = false;
  /// Logical clock: a member's training takes its announced samples times
  /// its speed factor here (simulated clients; null or another id: 1).
  std::shared_ptr<const client_profiles> profiles;
  uint64_t seed = 0; ///< logical clock: orders idle members
  std::shared_ptr<async_log> log_sink; ///< optional
};

/// Spawns the asynchronous server. Clients join, then Request models; at
/// most `concurrency` hold one at a time (others wait in FIFO order). Each
/// Update is checked for staleness (future base version: rejected; beyond
/// max_staleness: dropped; both counted and logged) and applied at once
/// (FedAsync mixing) or buffered (FedBuff, applied every K deltas), which
/// bumps the model version; both go through its aggregation actor, which
/// guards every candidate. The server evaluates every `eval_every`
/// versions on `evaluator`, writes JSONL records, and stops on max_updates,
/// max_seconds or target_accuracy by sending Exit to everyone, or with a
/// `rejected_model` error after `guard.max_rejections` rejected candidates
/// in a row (a diverging run).
caf::actor spawn_async_server(caf::actor_system& sys, async_server_settings s,
                              flat_model initial, caf::actor evaluator,
                              loggers log);

} // namespace fl
