#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "runtime/aggregation/aggregator.hpp"
#include "runtime/aggregation/model_guard.hpp"
#include "runtime/core/flat_model.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/federation/client_profiles.hpp"
#include "runtime/aggregation/strategy.hpp"
#include "runtime/storage/strategy_state.hpp"

namespace fl {

/// What the server records about one round (also written as a JSONL line).
struct round_record {
  uint64_t round = 0;
  uint64_t model_version = 0; ///< version after the round
  bool accepted = false;      ///< false: the previous model was kept
  bool rejected = false;      ///< the guard refused the round's candidate
  std::string outcome;        ///< "ok" or why the round was not accepted
  double round_seconds = 0;   ///< activation to aggregation
  double elapsed_seconds = 0; ///< since the first round started
  size_t sampled = 0;
  size_t clients_ok = 0;
  size_t clients_failed = 0;
  double train_loss = 0;      ///< sample-weighted mean of client losses
  double train_seconds = 0;   ///< mean client training time
  double test_loss = -1;      ///< -1 when not evaluated
  double test_accuracy = -1;  ///< -1 when not evaluated
  uint64_t evaluated_version = 0; ///< the model version evaluated
  double eval_seconds = 0;    ///< how long its evaluation took
  bool eval_skipped = false;  ///< superseded before it was evaluated
  /// Since the first round started, when the record was complete (its
  /// evaluation done): against elapsed_seconds, how far evaluation lags.
  double recorded_seconds = 0;
  uint64_t bytes_out = 0;     ///< model payload bytes sent (activations)
  uint64_t bytes_in = 0;      ///< model payload bytes received (updates)
  /// Client-side evaluation of this round's model (sample-weighted over
  /// the clients that answered); clients_evaluated = 0 when none ran.
  uint64_t clients_evaluated = 0;
  double client_eval_loss = -1;
  double client_eval_accuracy = -1;
};

/// Thread-safe list of records: a server appends, an embedding application
/// or test reads (during or after the run).
template <class T>
class record_log {
public:
  void add(T r) {
    std::lock_guard<std::mutex> guard{mtx_};
    records_.push_back(std::move(r));
  }
  std::vector<T> records() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return records_;
  }

private:
  mutable std::mutex mtx_;
  std::vector<T> records_;
};

using round_log = record_log<round_record>;

struct server_settings {
  std::string id = "server";
  /// Simulated clients' online windows: only clients online now are
  /// sampled (null = every live member may be).
  std::shared_ptr<const client_profiles> profiles;
  uint64_t rounds = 30;
  /// Round 1 starts once this many clients have joined.
  uint64_t min_clients = 1;
  double round_deadline_s = 120;
  /// After Exit, wait at most this long for members to disconnect.
  double exit_grace_s = 10;
  uint32_t heartbeat_ms = 5000;
  std::string metrics_path;   ///< "" = no metrics file
  /// The run manifest (runtime/storage/manifest.hpp), written as the
  /// metrics file's first line (also when a resumed run appends); "" = none.
  std::string manifest;
  /// Per-client records (one JSON line per sampled client and round:
  /// samples, loss, accuracy, training time, bytes, or why it failed);
  /// "" = none.
  std::string client_metrics_path;
  std::string checkpoint_dir; ///< "" = no checkpoints
  /// Round/version to continue from (resume); 0 for a fresh start.
  uint64_t start_round = 0;
  uint64_t start_version = 0;
  /// Stop as soon as an evaluation reaches this accuracy (0 = off).
  double target_accuracy = 0;
  /// Evaluate the accepted model every N rounds (and after the last).
  uint64_t eval_every = 1;
  /// Evaluations at once (the evaluator's workers); a model due beyond
  /// them waits (runtime/federation/evaluation_backlog.hpp) and holds the
  /// next round back, unless eval_skip_superseded.
  uint64_t eval_limit = 1;
  bool eval_skip_superseded = false;
  /// The aggregation backend its aggregation actor owns; null = a CPU
  /// aggregator with all cores.
  std::shared_ptr<aggregator> folder;
  /// Bounds on updates and candidate models.
  guard_settings guard;
  /// The aggregation actor runs on its own thread (off for deterministic
  /// tests).
  bool detached_aggregation = true;
  /// A robust rule keeps at most this many updates of a round (0 = as
  /// many as are sampled).
  uint64_t resident_limit = 0;
  /// The strategy's saved state when resuming.
  strategy_state initial_state;
  std::shared_ptr<round_log> log_sink; ///< optional
};

/// Spawns the synchronous server: waits for `min_clients` joins, then runs
/// `rounds` rounds of sample -> activate (with the strategy's per-client
/// configuration and, for SCAFFOLD, each client's correction) -> hand each
/// update to its
/// aggregation actor as it arrives -> aggregate (quorum + deadline; the
/// candidate is guarded) -> evaluate (on `evaluator`, a training worker,
/// when valid; and, every N rounds as the strategy says, on a sample of
/// clients' held-out data) -> checkpoint (written by the aggregation
/// actor); finally
/// sends Exit to every member and ends once they are gone (or after
/// exit_grace_s).
/// Joins whose protocol or model layout differ from the server's are
/// refused with an Error. Errors at start-up (metrics file) end the actor
/// with that error; `guard.max_rejections` rejected candidates in a row end
/// it with `rejected_model`.
caf::actor spawn_server(caf::actor_system& sys, server_settings s,
                        std::shared_ptr<strategy> strat, flat_model initial,
                        caf::actor evaluator, loggers log);

} // namespace fl
