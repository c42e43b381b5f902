#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/gossip_monitor.hpp"
#include "actors/peer.hpp"
#include "actors/training_pool.hpp"
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
  auto topo = make_topology(cfg, n);
  if (!topo) {
    log.node->error("{}", describe(topo.error()));
    return 2;
  }
  if (!(*topo)->doubly_stochastic())
    log.node->warn("topology {} is not doubly stochastic: synchronous peers "
                   "will agree on a weighted average of their models, not "
                   "the plain one", (*topo)->name());
  auto training = make_training(cfg, plug);
  if (!training) {
    log.node->error("{}", describe(training.error()));
    return 2;
  }
  auto roster = client_roster::make(cfg, *training, 0, n, n);
  if (!roster) {
    log.node->error("{}", describe(roster.error()));
    return 2;
  }
  auto profiles = make_profiles(cfg, n);
  if (!profiles) {
    log.node->error("{}", describe(profiles.error()));
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  auto init_trainer = training->make();
  auto common = std::make_shared<const std::vector<float>>(
    init_trainer->initial_params(static_cast<uint64_t>(cfg.federation.seed)));
  std::vector<std::shared_ptr<const std::vector<float>>> initial;
  for (uint64_t i = 0; i < n; ++i)
    initial.push_back(peer_initial(cfg, *init_trainer, i, common));
  init_trainer.reset();
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  auto evaluator = spawn_training_pool(sys, eval_workers(cfg), training->make,
                                       log);
  auto pool = spawn_training_pool(
    sys, static_cast<size_t>(cfg.training.workers), training->make, log);
  auto out = std::make_shared<gossip_log>();
  auto monitor = spawn_gossip_monitor(
    sys, make_monitor_settings(cfg, n, 0, "sim"), evaluator, out, log);
  log.node->info("{} peers, topology {} ({}), {} {}", n, (*topo)->name(),
                 cfg.gossip.asynchronous ? "asynchronous push-sum"
                                         : "synchronous rounds",
                 cfg.federation.rounds,
                 cfg.gossip.asynchronous ? "iterations each" : "rounds");
  // Every peer's route to a neighbor is the neighbor itself; the table is
  // complete before any peer starts.
  auto routes = std::make_shared<std::vector<caf::actor>>();
  for (uint64_t i = 0; i < n; ++i)
    routes->push_back(spawn_peer(
      sys,
      make_peer_settings(cfg, **roster, i, *topo, initial[i], *profiles),
      [routes](size_t j) { return (*routes)[j]; }, pool, monitor, log));
  caf::anon_send(monitor, start_atom::value, *routes);
  for (const auto& p : *routes)
    caf::anon_send(p, start_atom::value);
  auto reason = await_end(sys, monitor);
  for (const auto& p : *routes)
    caf::anon_send(p, stop_atom::value);
  caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
  return gossip_exit_code(cfg, *out, reason, start, log, print_summary);
}

} // namespace fl::cli
