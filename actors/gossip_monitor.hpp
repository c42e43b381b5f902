#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "runtime/core/logging.hpp"

namespace fl {

/// One metrics record of a decentralized run.
struct gossip_record {
  uint64_t round = 0;      ///< sync: the round; async: the snapshot number
  double elapsed_seconds = 0;
  double mean_step = 0;    ///< rounds or iterations the peers have done
  size_t peers = 0;        ///< peers in the record
  /// The peers' average model on the test set (when evaluated).
  std::optional<double> test_accuracy;
  std::optional<double> test_loss;
  /// Test accuracy of the peers' own models (a sample of eval_peers).
  std::optional<double> peer_accuracy_mean, peer_accuracy_std,
    peer_accuracy_min, peer_accuracy_max;
  /// Mean L2 distance of the peers' models from their average (with more
  /// than one peer in the record).
  std::optional<double> consensus_distance;
  double mix_distance = 0;       ///< mean over peers (see peer_report)
  double bytes_sent_per_peer = 0;  ///< since the previous record, per step
  double models_sent_per_peer = 0; ///< since the previous record, per step
  uint64_t neighbors_missed = 0;   ///< totals so far
  uint64_t late = 0;
  uint64_t refused = 0;            ///< shares too far from the receiver's model
  uint64_t max_staleness = 0;
};

/// What a monitor saw, for the run's summary.
struct gossip_log {
  std::vector<gossip_record> records;
  bool failed = false; ///< a peer ended with an error
};

struct gossip_monitor_settings {
  size_t peers = 0;                ///< peers this monitor watches
  bool asynchronous = false;
  uint64_t rounds = 0;             ///< per peer
  /// Evaluate every N sync rounds or async snapshots (0 = every one); the
  /// last record is always evaluated.
  uint64_t eval_every = 0;
  /// Peers whose own model is evaluated per record (evenly spread; 0 =
  /// none): the accuracy spread, at a cost of one evaluation each.
  uint64_t eval_peers = 16;
  double snapshot_s = 1;           ///< async: a record every this long
  std::string metrics_path;        ///< "" = no file
  std::string manifest;            ///< first line of the metrics file
};

/// Spawns the monitor of the peers of one process. It takes the peers'
/// handles with `(start_atom, std::vector<caf::actor>)` and then
///   sync : gathers every peer's peer_report of a round;
///   async: asks every peer for one every snapshot_s (status_atom);
/// and per record computes the peers' average model and consensus
/// distance, evaluates the average (and a sample of the peers) in
/// `evaluator` (eval_input -> eval_output), writes one JSONL record, logs
/// a progress line, and appends it to `out`. It ends normally when every
/// peer has finished and the last record is written (an async run takes
/// one final snapshot), or with the error of a peer that failed.
/// Errors at spawn time are none; a metrics file that cannot be opened is
/// logged and the monitor ends with io_error at once.
caf::actor spawn_gossip_monitor(caf::actor_system& sys,
                                gossip_monitor_settings s,
                                caf::actor evaluator,
                                std::shared_ptr<gossip_log> out,
                                loggers log);

} // namespace fl
