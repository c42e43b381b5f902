#include <chrono>
#include <sstream>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/downstream_connector.hpp"
#include "actors/gossip_monitor.hpp"
#include "actors/peer.hpp"
#include "actors/peer_links.hpp"
#include "cli/client_roster.hpp"
#include "cli/commands.hpp"
#include "cli/edges.hpp"
#include "cli/node_security.hpp"
#include "cli/gossip_setup.hpp"
#include "cli/setup.hpp"
#include "messages/atoms.hpp"
#include "messages/system_config.hpp"
#include "runtime/core/errors.hpp"

namespace fl::cli {

namespace {

/// gossip.peers as addresses. Errors: `invalid_config`.
caf::expected<std::vector<std::pair<std::string, uint16_t>>>
peer_addresses(const node_config& cfg) {
  std::vector<std::pair<std::string, uint16_t>> xs;
  std::stringstream in{cfg.gossip.peers};
  std::string item;
  while (std::getline(in, item, ',')) {
    auto ep = parse_endpoint(item);
    if (!ep || ep->second == 0)
      return make_fl_error(errc::invalid_config,
                           "--peers: '" + item + "' is not HOST:PORT; every "
                           "peer needs a fixed port (1..65535)");
    xs.push_back(*ep);
  }
  if (xs.empty())
    return make_fl_error(errc::invalid_config,
                         "--peers HOST:PORT,HOST:PORT,... is required: "
                         "every peer's address, in index order");
  if (cfg.gossip.index >= static_cast<int64_t>(xs.size()))
    return make_fl_error(errc::invalid_config,
                         "--peer-index " + std::to_string(cfg.gossip.index)
                           + " is not below the number of --peers, "
                           + std::to_string(xs.size()));
  return xs;
}

} // namespace

int run_peer(const node_config& given, const loggers& log,
             const node_plugins& plug) {
  auto addresses = peer_addresses(given);
  if (!addresses) {
    log.node->error("{}", describe(addresses.error()));
    return 2;
  }
  if (auto err = validate_gossip(given)) {
    log.node->error("{}", describe(err));
    return 2;
  }
  const auto n = addresses->size();
  const auto index = static_cast<size_t>(given.gossip.index);
  // It listens on its own entry of the list.
  auto cfg = given;
  cfg.federation.mode = "gossip";
  cfg.node.host = (*addresses)[index].first;
  cfg.node.port = (*addresses)[index].second;
  auto in = prepare_gossip(cfg, plug, n, index, 1);
  if (!in) {
    log.node->error("{}", describe(in.error()));
    return 2;
  }
  const auto& topo = in->topo;
  auto start = std::chrono::steady_clock::now();
  // Without a certificate or --identity, a peer proves the id it joins as.
  if (cfg.node.id.empty())
    cfg.node.id = peer_id(index);
  auto gate = gate_settings_for(cfg, true, log);
  if (!gate) {
    log.node->error("{}", describe(gate.error()));
    return 2;
  }

  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  auto transport = start_node_transport(sys, std::move(*gate), log);
  auto w = spawn_gossip_workers(sys, cfg, *in, 1, "peer", log);
  // The peer and its links need each other: the peer's route is a
  // forwarding actor that learns the links' handle before anything runs.
  peer_links_settings ls;
  ls.id = peer_id(index);
  ls.addresses = *addresses;
  // Each link's host and port are its neighbor's (peer links fill them).
  ls.link = upstream_to(cfg, *transport, "", 0);
  ls.link.max_attempts = 20;
  ls.join = client_join(ls.id, in->roster->num_samples(index), in->layout);
  ls.join.role = node_role::peer;
  auto links_slot = std::make_shared<caf::actor>();
  auto settings = make_peer_settings(cfg, *in->roster, index, topo,
                                     in->initial.front(), in->profiles);
  // One peer per process: its averaging gets a thread of its own.
  settings.detached_aggregation = true;
  auto peer = spawn_peer(
    sys, std::move(settings),
    [links_slot](size_t) { return *links_slot; }, w.pool, w.monitor, log);
  *links_slot = spawn_peer_links(sys, ls, peer, log);
  auto inbound = spawn_downstream_connector(sys, peer,
                                            downstream_for(cfg, *transport,
                                                           ls.id, false),
                                            log);
  auto port = publish_node(sys, *transport, inbound, cfg, log);
  if (!port) {
    log.node->error("{}", describe(port.error()));
    caf::anon_send(peer, stop_atom::value);
    w.stop();
    return 2;
  }
  log.node->info("{} of {} peers, topology {} ({}), sends to {} neighbor(s)",
                 ls.id, n, topo->name(), gossip_kind_text(cfg),
                 topo->out_neighbors(index).size());
  caf::anon_send(w.monitor, start_atom::value,
                 std::vector<caf::actor>{peer});
  caf::anon_send(peer, start_atom::value);
  auto reason = await_end(sys, w.monitor);
  // Slower neighbors may still wait for this peer's last model or ask for
  // its state: stay reachable for a moment. Neighbors leave as they
  // finish, so their connections closing is expected now, not worth a
  // warning each.
  if (!reason || reason == caf::exit_reason::normal) {
    if (log.wire->level() < spdlog::level::err)
      log.wire->set_level(spdlog::level::err);
    std::this_thread::sleep_for(
      std::chrono::duration<double>(cfg.gossip.linger_s));
  }
  caf::anon_send(peer, stop_atom::value);
  w.stop();
  return gossip_exit_code(cfg, *w.out, reason, start, log, true);
}

} // namespace fl::cli
