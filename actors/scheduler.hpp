#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "runtime/aggregator.hpp"
#include "runtime/logging.hpp"

namespace fl {

struct scheduler_settings {
  std::string id = "scheduler";
  uint64_t min_clients = 1;       ///< join upstream once this many joined
  uint64_t clients_per_round = 0; ///< of its group per activation; 0 = all
  double quorum = 1.0;            ///< of the sampled group members
  double round_deadline_s = 120;
  uint64_t seed = 0;
  double exit_grace_s = 10;
  std::shared_ptr<aggregator> folder; ///< null = CPU
  /// Async modes (async, fedbuff): relay instead of pre-aggregating.
  bool relay = false;
};

/// Spawns a scheduler (FedLab's hierarchical mode, sync FedAvg): to its
/// `upstream` (a server or an upstream connector) it is ONE client whose
/// weight is the sum of its group's samples; to its group it is a server.
/// On an Activation it samples its group, forwards the model (one multicast
/// per route), folds the group's updates as they arrive, and sends ONE
/// update upstream: the sample-weighted mean with the summed sample count,
/// so the top server's FedAvg equals FedAvg over all the clients. Below
/// quorum it sends nothing and the upstream round counts it as a failure.
/// Schedulers nest: a scheduler's group may hold schedulers.
/// With `relay` (the async modes, where there are no rounds to aggregate)
/// it forwards every member's join, request and update upstream and every
/// reply back down: the server sees each client, and one connection per
/// scheduler host carries them all.
/// Group members reach it through `(deliver_atom, envelope)` (directly or
/// via its downstream connector); it tells upstream traffic apart by sender.
caf::actor spawn_scheduler(caf::actor_system& sys, scheduler_settings s,
                           caf::actor upstream, loggers log);

} // namespace fl
