#include <fstream>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/downstream_connector.hpp"
#include "actors/scheduler.hpp"
#include "actors/upstream_connector.hpp"
#include "cli/commands.hpp"
#include "cli/setup.hpp"
#include "runtime/actor_system.hpp"
#include "runtime/errors.hpp"

namespace fl::cli {

int run_scheduler(const node_config& cfg, const loggers& log) {
  if (cfg.node.upstream.empty()) {
    log.node->error("--upstream HOST:PORT is required");
    return 2;
  }
  auto endpoint = parse_endpoint(cfg.node.upstream);
  if (!endpoint) {
    log.node->error("{}", describe(endpoint.error()));
    return 2;
  }
  auto folder = make_folder(cfg, log);
  if (!folder) {
    log.node->error("{}", describe(folder.error()));
    return 2;
  }
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  upstream_settings us;
  us.host = endpoint->first;
  us.port = endpoint->second;
  us.token = cfg.node.token;
  us.connect_timeout_s = cfg.transport.request_timeout_s;
  us.chunk_bytes = static_cast<size_t>(cfg.transport.chunk_mib) << 20;
  us.limits.max_message_bytes = static_cast<uint64_t>(
                                  cfg.transport.max_message_mib)
                                << 20;
  auto upstream = spawn_upstream_connector(sys, us, log);
  scheduler_settings ss;
  ss.id = cfg.node.id.empty() ? "scheduler-" + std::to_string(::getpid())
                              : cfg.node.id;
  ss.min_clients = static_cast<uint64_t>(cfg.federation.min_clients > 0
                                           ? cfg.federation.min_clients
                                           : cfg.federation.clients);
  ss.clients_per_round = static_cast<uint64_t>(
    cfg.federation.clients_per_round);
  ss.quorum = cfg.federation.quorum;
  ss.round_deadline_s = cfg.federation.round_deadline_s;
  ss.seed = static_cast<uint64_t>(cfg.federation.seed);
  ss.folder = *folder;
  auto sched = spawn_scheduler(sys, ss, upstream, log);
  downstream_settings ds;
  ds.node_id = ss.id;
  ds.token = cfg.node.token;
  ds.chunk_bytes = us.chunk_bytes;
  ds.limits = us.limits;
  auto connector = spawn_downstream_connector(sys, sched, ds, log);
  auto port = sys.middleman().publish(connector,
                                      static_cast<uint16_t>(cfg.node.port),
                                      cfg.node.host.c_str(), true);
  if (!port) {
    log.node->error("cannot listen on {}:{}: {}", cfg.node.host, cfg.node.port,
                    describe(port.error()));
    caf::anon_send_exit(sched, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(upstream, caf::exit_reason::user_shutdown);
    return 1;
  }
  log.node->info("scheduler {} listening on {}:{}, upstream {}", ss.id,
                 cfg.node.host, *port, cfg.node.upstream);
  if (!cfg.node.port_file.empty()) {
    auto tmp = cfg.node.port_file + ".tmp";
    std::ofstream{tmp} << *port << "\n";
    std::rename(tmp.c_str(), cfg.node.port_file.c_str());
  }
  caf::error reason;
  {
    caf::scoped_actor self{sys};
    self->monitor(sched);
    self->receive([&](caf::down_msg& dm) { reason = dm.reason; });
  }
  caf::anon_send_exit(connector, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(upstream, caf::exit_reason::user_shutdown);
  if (reason && reason != caf::exit_reason::normal) {
    log.node->error("scheduler ended: {}", describe(reason));
    return 1;
  }
  log.node->info("scheduler {} finished", ss.id);
  return 0;
}

} // namespace fl::cli
