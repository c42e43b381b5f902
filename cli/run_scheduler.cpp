#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/downstream_connector.hpp"
#include "actors/relay.hpp"
#include "actors/scheduler.hpp"
#include "actors/upstream_connector.hpp"
#include "cli/commands.hpp"
#include "cli/edges.hpp"
#include "cli/node_security.hpp"
#include "cli/setup.hpp"
#include "messages/system_config.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/core/errors.hpp"

namespace fl::cli {

int run_scheduler(const node_config& cfg, const loggers& log,
                  const node_plugins& plug) {
  auto gate = gate_settings_for(cfg, true, log);
  if (!gate) {
    log.node->error("{}", describe(gate.error()));
    return 2;
  }
  const auto id = cfg.node.id.empty()
                    ? "scheduler-" + std::to_string(::getpid())
                    : cfg.node.id;
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  auto transport = start_node_transport(sys, std::move(*gate), log);
  auto us = upstream_for(cfg, *transport);
  if (!us) {
    log.node->error("{}", describe(us.error()));
    return 2;
  }
  auto upstream = spawn_upstream_connector(sys, *us, log);
  caf::actor middle;
  if (cfg.federation.kind() == federation_mode::sync) {
    // Pre-aggregation needs the model (to check members' layouts) and an
    // aggregator backend.
    auto training = make_training(cfg, plug);
    auto folder = training ? make_folder(cfg, log)
                           : caf::expected<std::shared_ptr<aggregator>>{
                             training.error()};
    if (!folder) {
      log.node->error("{}", describe(folder.error()));
      caf::anon_send_exit(upstream, caf::exit_reason::user_shutdown);
      return 2;
    }
    scheduler_settings ss;
    ss.id = id;
    ss.layout = training->make()->layout();
    ss.min_clients = static_cast<uint64_t>(cfg.federation.min_clients > 0
                                             ? cfg.federation.min_clients
                                             : cfg.federation.clients);
    ss.clients_per_round = static_cast<uint64_t>(
      cfg.federation.clients_per_round);
    ss.quorum = cfg.federation.quorum;
    ss.round_deadline_s = cfg.federation.round_deadline_s;
    ss.seed = static_cast<uint64_t>(cfg.federation.seed);
    ss.folder = *folder;
    ss.guard = guard_settings_of(cfg);
    middle = spawn_scheduler(sys, ss, upstream, log);
  } else {
    middle = spawn_relay(sys, relay_settings{id, 10}, upstream, log);
  }
  auto connector = spawn_downstream_connector(sys, middle,
                                              downstream_for(cfg, *transport,
                                                             id, true),
                                              log);
  auto port = publish_node(sys, *transport, connector, cfg, log);
  if (!port) {
    log.node->error("{}", describe(port.error()));
    caf::anon_send_exit(middle, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(upstream, caf::exit_reason::user_shutdown);
    return 1;
  }
  log.node->info("scheduler {} joins {}", id, cfg.node.upstream);
  auto reason = await_end(sys, middle);
  caf::anon_send_exit(connector, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(upstream, caf::exit_reason::user_shutdown);
  if (reason && reason != caf::exit_reason::normal) {
    log.node->error("scheduler ended: {}", describe(reason));
    return 1;
  }
  log.node->info("scheduler {} finished", id);
  return 0;
}

} // namespace fl::cli
