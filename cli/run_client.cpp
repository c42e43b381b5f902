#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/virtual_clients.hpp"
#include "actors/training_pool.hpp"
#include "actors/upstream_connector.hpp"
#include "cli/client_roster.hpp"
#include "cli/commands.hpp"
#include "cli/edges.hpp"
#include "cli/node_security.hpp"
#include "cli/setup.hpp"
#include "messages/system_config.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/core/errors.hpp"

namespace fl::cli {

int run_client(const node_config& cfg, const loggers& log,
               const node_plugins& plug) {
  auto gate = gate_settings_for(cfg, false, log);
  if (!gate) {
    log.node->error("{}", describe(gate.error()));
    return 2;
  }
  auto training = make_training(cfg, plug);
  if (!training) {
    log.node->error("{}", describe(training.error()));
    return 2;
  }
  const auto count = static_cast<uint64_t>(cfg.federation.clients);
  const auto first = static_cast<uint64_t>(cfg.federation.client_offset);
  const auto total = cfg.federation.total_clients > 0
                       ? static_cast<uint64_t>(cfg.federation.total_clients)
                       : first + count;
  auto roster = client_roster::make(cfg, *training, first, count, total);
  if (!roster) {
    log.node->error("{}", describe(roster.error()));
    return 2;
  }
  if (auto err = check_model_fits(cfg, (*roster)->layout())) {
    log.node->error("{}", describe(err));
    return 2;
  }
  (*roster)->log_attackers(log);
  auto profiles = make_profiles(cfg, total);
  if (!profiles) {
    log.node->error("{}", describe(profiles.error()));
    return 2;
  }
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  auto transport = start_node_transport(sys, std::move(*gate), log);
  auto us = upstream_for(cfg, *transport);
  if (!us) {
    log.node->error("{}", describe(us.error()));
    return 2;
  }
  auto upstream = spawn_upstream_connector(sys, *us, log);
  auto pool = spawn_training_pool(
    sys, static_cast<size_t>(cfg.training.workers), training->make, log);
  log.node->info("hosting {} client(s) [{}, {}) joining {}", count, first,
                 first + count, cfg.node.upstream);
  caf::error failure;
  {
    // One host stands for all of this process's clients (a client is an
    // actor only while it has a task); it ends when all got their Exit.
    caf::scoped_actor self{sys};
    self->monitor(spawn_virtual_clients(
      sys, (*roster)->host_settings(*profiles), upstream, pool, log));
    self->receive([&](caf::down_msg& dm) {
      if (dm.reason && dm.reason != caf::exit_reason::normal)
        failure = dm.reason;
    });
  }
  caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(upstream, caf::exit_reason::user_shutdown);
  if (failure) {
    log.node->error("the clients ended with an error: {}", describe(failure));
    return 1;
  }
  log.node->info("all clients finished");
  return 0;
}

} // namespace fl::cli
