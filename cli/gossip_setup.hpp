#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/gossip_monitor.hpp"
#include "actors/peer.hpp"
#include "cli/client_roster.hpp"
#include "runtime/core/config.hpp"
#include "runtime/gossip/topology.hpp"

namespace fl::cli {

/// Wiring shared by `sim --mode gossip` and `fl-node peer`.

/// The topology `cfg.gossip.topology` names (a built-in one, or a file of
/// weighted edges) for n peers. Errors: `invalid_config`, `io_error`.
caf::expected<std::shared_ptr<const gossip::topology>>
make_topology(const node_config& cfg, size_t n);

/// Gossip settings that make no sense together (e.g. a resumed run),
/// as an error. Errors: `invalid_config`.
caf::error validate_gossip(const node_config& cfg);

/// Peer `index`'s settings: its data and training from the roster (which
/// holds it), its speed from the profiles (null = as measured).
peer_settings make_peer_settings(
  const node_config& cfg, const client_roster& roster, size_t index,
  std::shared_ptr<const gossip::topology> topo,
  std::shared_ptr<const std::vector<float>> initial,
  const std::shared_ptr<const client_profiles>& profiles);

/// Peer `index`'s initial model: `common` (the federation's seeded one),
/// or with gossip.independent_init its own (seed + 1 + index).
std::shared_ptr<const std::vector<float>>
peer_initial(const node_config& cfg, trainer& t, size_t index,
             const std::shared_ptr<const std::vector<float>>& common);

/// What a process of peers builds before its actor system starts.
struct gossip_inputs {
  std::shared_ptr<const gossip::topology> topo;
  training_setup training;
  std::shared_ptr<const client_roster> roster; ///< its peers' data
  std::shared_ptr<const client_profiles> profiles; ///< null = as measured
  /// Initial model of peers first .. first + count - 1.
  std::vector<std::shared_ptr<const std::vector<float>>> initial;
  model_layout layout;
};

/// The topology of n peers, the trainers, and the data, speed and initial
/// model of peers [first, first + count). Errors: from the topology, the
/// data or the partition, each ready to print.
caf::expected<gossip_inputs> prepare_gossip(const node_config& cfg,
                                            const node_plugins& plug,
                                            size_t n, size_t first,
                                            size_t count);

/// What a process of peers runs besides its peers: the training and
/// evaluation pools and the monitor of its `peers` peers.
struct gossip_workers {
  caf::actor evaluator;
  caf::actor pool;
  caf::actor monitor;
  std::shared_ptr<gossip_log> out; ///< what the monitor saw
  /// Ends the pools (the monitor ends by itself).
  void stop() const;
};

/// Spawns them; `command` ("sim" or "peer") goes into the run manifest.
gossip_workers spawn_gossip_workers(caf::actor_system& sys,
                                    const node_config& cfg,
                                    const gossip_inputs& in, size_t peers,
                                    const std::string& command,
                                    const loggers& log);

/// "asynchronous push-sum" or "synchronous rounds", for log lines.
const char* gossip_kind_text(const node_config& cfg);

/// Prints the summary of a decentralized run to stdout and returns the
/// exit code: 0, or 1 when a peer failed or the monitor ended with an
/// error.
int gossip_exit_code(const node_config& cfg, const gossip_log& out,
                     const caf::error& reason,
                     std::chrono::steady_clock::time_point start,
                     const loggers& log, bool print);

} // namespace fl::cli
