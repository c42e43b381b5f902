#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/virtual_clients.hpp"
#include "actors/server.hpp"
#include "actors/training_pool.hpp"
#include "cli/client_roster.hpp"
#include "cli/commands.hpp"
#include "cli/edges.hpp"
#include "cli/setup.hpp"
#include "messages/system_config.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/core/errors.hpp"

namespace fl::cli {

int run_sim(const node_config& cfg, const loggers& log,
            const node_plugins& plug, const run_output& out) {
  if (cfg.federation.gossip())
    return run_gossip_sim(cfg, log, plug, out.print_summary);
  if (cfg.strategy.client_eval_every > 0 && cfg.data.holdout <= 0) {
    // On a server the clients decide; here every client would refuse.
    log.node->error("strategy.client_eval_every needs held-out data on the "
                    "clients: set data.holdout (--holdout), e.g. 0.1");
    return 2;
  }
  auto training = make_training(cfg, plug);
  if (!training) {
    log.node->error("{}", describe(training.error()));
    return 2;
  }
  const auto n = static_cast<uint64_t>(cfg.federation.clients);
  auto roster = client_roster::make(cfg, *training, 0, n, n);
  if (!roster) {
    log.node->error("{}", describe(roster.error()));
    return 2;
  }
  (*roster)->log_attackers(log);
  auto profiles = make_profiles(cfg, n);
  if (!profiles) {
    log.node->error("{}", describe(profiles.error()));
    return 2;
  }
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  auto start = std::chrono::steady_clock::now();
  auto init_trainer = training->make();
  auto initial = initial_model(cfg, *init_trainer, log);
  if (!initial) {
    log.node->error("{}", describe(initial.error()));
    return 2;
  }
  const run_logs& logs = *out.logs;
  init_trainer.reset();
  // Evaluations run on a pool of their own (eval_workers), so a slow one
  // does not queue behind training.
  auto evaluator = spawn_training_pool(sys, eval_workers(cfg), training->make,
                                       log);
  auto pool = spawn_training_pool(
    sys, static_cast<size_t>(cfg.training.workers), training->make, log);
  auto spawned = spawn_server_for(sys, cfg, n, std::move(initial->first),
                                  evaluator, logs, log, initial->second,
                                  "sim", *profiles);
  if (!spawned) {
    log.node->error("{}", describe(spawned.error()));
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
    return 2;
  }
  auto server = *spawned;
  // Clients are records until sampled (actors/virtual_clients.hpp), so a
  // million of them fit in one process.
  spawn_virtual_clients(sys, (*roster)->host_settings(*profiles), server,
                        pool, log);
  auto reason = await_end(sys, server);
  caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
  return server_exit_code(cfg, logs, start, reason, log,
                          out.print_summary);
}

} // namespace fl::cli
