#include <chrono>
#include <fstream>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/downstream_connector.hpp"
#include "actors/server.hpp"
#include "actors/training_pool.hpp"
#include "cli/commands.hpp"
#include "cli/setup.hpp"
#include "runtime/actor_system.hpp"
#include "runtime/errors.hpp"

namespace fl::cli {

int run_server(const node_config& cfg, const loggers& log) {
  auto training = make_training(cfg);
  if (!training) {
    log.node->error("{}", describe(training.error()));
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
  run_logs logs;
  auto evaluator = spawn_training_worker(sys, std::move(init_trainer), log);
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
  downstream_settings ds;
  ds.node_id = cfg.node.id.empty() ? "server" : cfg.node.id;
  ds.token = cfg.node.token;
  ds.chunk_bytes = static_cast<size_t>(cfg.transport.chunk_mib) << 20;
  ds.limits.max_message_bytes = static_cast<uint64_t>(
                                  cfg.transport.max_message_mib)
                                << 20;
  auto connector = spawn_downstream_connector(sys, server, ds, log);
  auto port = sys.middleman().publish(connector,
                                      static_cast<uint16_t>(cfg.node.port),
                                      cfg.node.host.c_str(), true);
  if (!port) {
    log.node->error("cannot listen on {}:{}: {}", cfg.node.host, cfg.node.port,
                    describe(port.error()));
    caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
    return 1;
  }
  log.node->info("listening on {}:{}", cfg.node.host, *port);
  if (!cfg.node.port_file.empty()) {
    // Written to a temp name and renamed, so readers never see a partial file.
    auto tmp = cfg.node.port_file + ".tmp";
    std::ofstream{tmp} << *port << "\n";
    std::rename(tmp.c_str(), cfg.node.port_file.c_str());
  }
  caf::error reason;
  {
    caf::scoped_actor self{sys};
    self->monitor(server);
    self->receive([&](caf::down_msg& dm) { reason = dm.reason; });
  }
  caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(connector, caf::exit_reason::user_shutdown);
  auto wall = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - start)
                .count();
  print_run_summary(cfg, logs, wall);
  if (reason && reason != caf::exit_reason::normal) {
    log.node->error("server ended: {}", describe(reason));
    return 1;
  }
  return 0;
}

} // namespace fl::cli
