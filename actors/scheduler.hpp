#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "runtime/aggregation/aggregator.hpp"
#include "runtime/aggregation/model_guard.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/core/model_layout.hpp"

namespace fl {

struct scheduler_settings {
  std::string id = "scheduler";
  model_layout layout;            ///< the federation's model
  uint64_t min_clients = 1;       ///< join upstream once this many joined
  uint64_t clients_per_round = 0; ///< of its group per activation; 0 = all
  double quorum = 1.0;            ///< of the sampled group members
  double round_deadline_s = 120;
  uint64_t seed = 0;
  double exit_grace_s = 10;
  std::shared_ptr<aggregator> folder; ///< its aggregation actor's; null = CPU
  guard_settings guard;               ///< bounds on members' updates
  bool detached_aggregation = true;   ///< off for deterministic tests
};

/// Spawns a scheduler (FedLab's hierarchical mode, sync FedAvg): to its
/// `upstream` (a server or an upstream connector) it is ONE client whose
/// weight is the sum of its group's samples; to its group it is a server.
/// On an Activation it samples its group, forwards the model (one multicast
/// per route), hands the group's updates to its aggregation actor as they
/// arrive, and sends ONE update upstream: the guarded sample-weighted mean
/// with the summed sample count, so the top server's FedAvg equals FedAvg
/// over all the clients. Below quorum, or when the guard rejects the mean,
/// it sends an Error for that round instead and the upstream round counts
/// it as failed at once. Schedulers nest: a scheduler's group may hold
/// schedulers. In the async modes use a relay (actors/relay.hpp) instead.
/// Group members reach it through `(deliver_atom, envelope)` (directly or
/// via its downstream connector); it tells upstream traffic apart by sender.
caf::actor spawn_scheduler(caf::actor_system& sys, scheduler_settings s,
                           caf::actor upstream, loggers log);

} // namespace fl
