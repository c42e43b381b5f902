#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include "actors/client.hpp"
#include "actors/interfaces.hpp"
#include "runtime/aggregation/model_guard.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/core/train_metrics.hpp"
#include "runtime/gossip/topology.hpp"

namespace fl {

/// Everything one decentralized peer is.
struct peer_settings {
  size_t index = 0; ///< its place in the topology; its id is peer_id(index)
  std::shared_ptr<const gossip::topology> topo;
  /// false: rounds with a barrier per neighbor set (peers wait for their
  /// in-neighbors' models of the round, then average); true: push-sum
  /// without barriers.
  bool asynchronous = false;
  uint64_t rounds = 30; ///< sync rounds, or async iterations, to run
  /// Sync: how long a round waits for a missing in-neighbor; async: how long
  /// a peer at the staleness bound waits. A neighbor that stays silent that
  /// long (twice in a row, in sync) is taken as gone until it sends again.
  double neighbor_timeout_s = 30;
  /// Async: a peer more than this many iterations ahead of a live
  /// in-neighbor's last message waits for it (bounded staleness).
  uint64_t max_staleness = 10;
  /// A neighbor's model further than this times max(||own||, 1) from this
  /// peer's own (L2) is refused and counted: one peer cannot drag its
  /// neighbors anywhere (guard.max_change_ratio; 0 = no bound).
  double max_distance_ratio = 10;
  /// Sync: the bounds of its aggregation actor, which averages each round
  /// (finite values; the average may move the trained model at most
  /// max_change_ratio x its norm, else the peer keeps its trained model).
  guard_settings guard;
  /// Sync: the aggregation actor on a thread of its own (big models; a
  /// process with one peer), or on the shared scheduler (many small peers
  /// in one process, tests).
  bool detached_aggregation = false;
  /// Its data, local training settings, seed and simulated slowness.
  client_settings client;
  std::shared_ptr<const std::vector<float>> initial;
  /// Before training, ask a neighbor for its model and round and continue
  /// from there (a peer that rejoins a running federation).
  bool catch_up = false;
  double catch_up_timeout_s = 10;
};

/// "peer-<index>".
std::string peer_id(size_t index);
/// The index of a peer id of a topology with n peers; none for another id.
std::optional<size_t> peer_index(const std::string& id, size_t n);

/// What a peer tells its monitor after each sync round (and, async, when
/// asked for a snapshot). Counters are totals since the peer started.
struct peer_report {
  size_t index = 0;
  uint64_t step = 0; ///< rounds (sync) or iterations (async) done
  model_state model; ///< its model now
  uint64_t bytes_sent = 0;  ///< model bytes sent to neighbors
  uint64_t models_sent = 0; ///< Gossip shares sent
  uint64_t neighbors_missed = 0; ///< sync: in-neighbors that did not arrive in time
  uint64_t late = 0;        ///< shares that came too late and were dropped
  uint64_t refused = 0;     ///< shares refused as too far from its model
  uint64_t max_staleness_seen = 0; ///< async: oldest share absorbed, iterations
  train_metrics train;      ///< of its last local training
  /// Distance of its trained model from its model after mixing (how much
  /// its neighbors disagreed with it) in the last step.
  double mix_distance = 0;
  bool finished = false; ///< it ran all its rounds
};

/// Where a peer sends what is for neighbor j: the neighbor's own actor (one
/// process) or an actor that forwards by the envelope's target (across
/// processes: actors/peer_links.hpp).
using peer_route = std::function<caf::actor(size_t neighbor)>;

/// Spawns a peer; it starts training on `(start_atom)` (so that a process
/// can spawn all its peers and their routes first).
///   in : (deliver_atom, envelope{gossip|request}) from neighbors
///        (lost_atom, node_id, error) a neighbor's connection is gone
///        (status_atom) -> peer_report (its state now; async snapshots)
///        (stop_atom) ends it
///   out: (deliver_atom, envelope{gossip}) through `route`;
///        peer_report to `monitor` after every sync round, and once when
///        it finishes in either mode.
/// Training runs in `pool`. Sync: each round it trains, sends its model to
/// the round's out-neighbors, waits for its in-neighbors' models of the
/// round (at most neighbor_timeout_s; neighbors known gone are not waited
/// for) and averages them with the topology's weights, renormalised over
/// the models present, in an aggregation actor of its own (whose guard may
/// refuse the average: then it keeps its trained model). A sync peer whose
/// shares come late is sent a neighbor's newer model (kind state) and
/// jumps ahead; with catch_up it asks its neighbors for one first. Async: it trains, applies its change to its push-sum
/// state, keeps 1/(m+1) and pushes 1/(m+1) to each of its m live
/// out-neighbors, and absorbs every share that arrives, whenever it
/// arrives; it waits only when max_staleness iterations ahead of a live
/// in-neighbor. A share from a peer that is not its in-neighbor, of the
/// wrong size, or (sync) of a past round is dropped and counted. Shares
/// keep arriving (and are absorbed) after it finished, until stopped. A
/// share whose model is further than max_distance_ratio x max(||own||, 1)
/// from the peer's own is refused with a warning (a poisoned or broken
/// neighbor).
caf::actor spawn_peer(caf::actor_system& sys, peer_settings s,
                      peer_route route, caf::actor pool, caf::actor monitor,
                      loggers log);

} // namespace fl

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::peer_report)
