#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/gossip_monitor.hpp"
#include "actors/peer.hpp"
#include "cli/client_roster.hpp"
#include "cli/commands.hpp"
#include "cli/edges.hpp"
#include "cli/gossip_setup.hpp"
#include "cli/setup.hpp"
#include "messages/atoms.hpp"
#include "messages/system_config.hpp"
#include "runtime/core/errors.hpp"

namespace fl::cli {

int run_gossip_sim(const node_config& cfg, const loggers& log,
                   const node_plugins& plug, bool print_summary) {
  if (auto err = validate_gossip(cfg)) {
    log.node->error("{}", describe(err));
    return 2;
  }
  const auto n = static_cast<uint64_t>(cfg.federation.clients);
  auto in = prepare_gossip(cfg, plug, n, 0, n);
  if (!in) {
    log.node->error("{}", describe(in.error()));
    return 2;
  }
  const auto& topo = in->topo;
  if (!topo->doubly_stochastic())
    log.node->warn("topology {} is not doubly stochastic: synchronous peers "
                   "will agree on a weighted average of their models, not "
                   "the plain one", topo->name());
  auto start = std::chrono::steady_clock::now();
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  auto w = spawn_gossip_workers(sys, cfg, *in, n, "sim", log);
  log.node->info("{} peers, topology {} ({}), {} {}", n, topo->name(),
                 gossip_kind_text(cfg),
                 cfg.federation.rounds,
                 cfg.gossip.asynchronous ? "iterations each" : "rounds");
  // Every peer's route to a neighbor is the neighbor itself; the table is
  // complete before any peer starts.
  auto routes = std::make_shared<std::vector<caf::actor>>();
  for (uint64_t i = 0; i < n; ++i)
    routes->push_back(spawn_peer(
      sys,
      make_peer_settings(cfg, *in->roster, i, topo, in->initial[i],
                         in->profiles),
      [routes](size_t j) { return (*routes)[j]; }, w.pool, w.monitor, log));
  caf::anon_send(w.monitor, start_atom::value, *routes);
  for (const auto& p : *routes)
    caf::anon_send(p, start_atom::value);
  auto reason = await_end(sys, w.monitor);
  for (const auto& p : *routes)
    caf::anon_send(p, stop_atom::value);
  w.stop();
  return gossip_exit_code(cfg, *w.out, reason, start, log, print_summary);
}

} // namespace fl::cli
