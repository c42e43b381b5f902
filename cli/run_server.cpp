#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/downstream_connector.hpp"
#include "actors/server.hpp"
#include "actors/training_pool.hpp"
#include "cli/commands.hpp"
#include "cli/edges.hpp"
#include "cli/node_security.hpp"
#include "cli/setup.hpp"
#include "messages/system_config.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/core/errors.hpp"

namespace fl::cli {

int run_server(const node_config& cfg, const loggers& log,
               const node_plugins& plug, const run_output& out) {
  auto training = make_training(cfg, plug);
  if (!training) {
    log.node->error("{}", describe(training.error()));
    return 2;
  }
  auto gate = gate_settings_for(cfg, true, log);
  if (!gate) {
    log.node->error("{}", describe(gate.error()));
    return 2;
  }
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  auto transport = start_node_transport(sys, std::move(*gate), log);
  auto start = std::chrono::steady_clock::now();
  auto init_trainer = training->make();
  auto initial = initial_model(cfg, *init_trainer, log);
  if (!initial) {
    log.node->error("{}", describe(initial.error()));
    return 2;
  }
  const run_logs& logs = *out.logs;
  init_trainer.reset();
  if (auto err = check_model_fits(cfg, initial->first.layout())) {
    log.node->error("{}", describe(err));
    return 2;
  }
  // Evaluations run on a pool of their own (eval_workers), so a slow one
  // does not queue behind training.
  auto evaluator = spawn_training_pool(sys, eval_workers(cfg), training->make,
                                       log);
  const auto min_clients = static_cast<uint64_t>(
    cfg.federation.min_clients > 0 ? cfg.federation.min_clients
                                   : cfg.federation.clients);
  auto spawned = spawn_server_for(sys, cfg, min_clients,
                                  std::move(initial->first), evaluator, logs,
                                  log, initial->second);
  if (!spawned) {
    log.node->error("{}", describe(spawned.error()));
    caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
    return 2;
  }
  auto server = *spawned;
  auto connector = spawn_downstream_connector(
    sys, server,
    downstream_for(cfg, *transport,
                   cfg.node.id.empty() ? "server" : cfg.node.id, true),
    log);
  auto port = publish_node(sys, *transport, connector, cfg, log);
  if (!port) {
    log.node->error("{}", describe(port.error()));
    caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
    return 1;
  }
  auto reason = await_end(sys, server);
  caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(connector, caf::exit_reason::user_shutdown);
  return server_exit_code(cfg, logs, start, reason, log,
                          out.print_summary);
}

} // namespace fl::cli
