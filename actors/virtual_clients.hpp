#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/client.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/federation/client_profiles.hpp"

namespace fl {

/// The clients one host actor stands for: global indices [first, first +
/// count), each made on demand from its index.
struct virtual_clients_settings {
  uint64_t first = 0;
  uint64_t count = 0;
  /// The model every client trains (announced in their Joins).
  model_layout layout;
  /// The training samples client `index` announces (cheap: no settings are
  /// made to join).
  std::function<uint64_t(uint64_t)> num_samples;
  /// The settings of client `index`, made when it is given a task.
  std::function<client_settings(uint64_t)> settings;
  /// Speeds and online windows; null = every client as measured, always
  /// online.
  std::shared_ptr<const client_profiles> profiles;
  /// Joins sent per step, so that a million joins never fill a mailbox at
  /// once.
  uint64_t join_batch = 4096;
};

/// Counters a host keeps (for its logs and tests).
struct virtual_clients_stats {
  uint64_t spawned = 0;   ///< client actors started, one per task
  uint64_t live_peak = 0; ///< most client actors alive at once
  /// Tasks lost because the client was or went offline (refused at
  /// once, or its update dropped).
  uint64_t dropped = 0;
};

/// Spawns the host of virtual clients: each client is a compact record
/// (its index, its compressor's state once it has one) and becomes a client
/// actor (actors/client.hpp) only while it has a task: an Activation, a
/// Model or an Evaluate starts one, its answer ends it. To `upstream` (a
/// server, scheduler or upstream connector) the host is one route carrying
/// all its clients: it sends their Joins in batches, answers the Welcomes
/// (in the async modes by asking for a model for every client online),
/// forwards every message between the clients and upstream, and ends when
/// every client got its Exit (with an error if any join was refused), or
/// with the error when upstream is lost. With profiles: a client's update
/// waits out its speed factor (as the straggler flags did), a task for a
/// client offline is answered at once with an Error naming the client, the
/// update of a client that went offline before it was done is replaced by
/// such an Error (a dropout), and in the async modes a client offline asks
/// for a model when its next online window begins.
caf::actor spawn_virtual_clients(caf::actor_system& sys,
                                 virtual_clients_settings s,
                                 caf::actor upstream, caf::actor pool,
                                 loggers log,
                                 std::shared_ptr<virtual_clients_stats> stats
                                 = nullptr);

} // namespace fl
