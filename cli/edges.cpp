#include "cli/edges.hpp"

#include <cstdio>

#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "runtime/core/errors.hpp"
#include "runtime/storage/text_file.hpp"

namespace fl::cli {

namespace {

decode_limits limits_for(const node_config& cfg) {
  decode_limits limits;
  limits.max_message_bytes = static_cast<uint64_t>(
                               cfg.transport.max_message_mib)
                             << 20;
  // What a sender keeping to its window can have sent ahead, with room.
  limits.max_held_bytes = 2 * (static_cast<uint64_t>(cfg.transport.window)
                               * (static_cast<uint64_t>(cfg.transport.chunk_mib)
                                  << 20));
  return limits;
}

send_settings send_for(const node_config& cfg) {
  send_settings s;
  s.chunk_bytes = static_cast<size_t>(cfg.transport.chunk_mib) << 20;
  s.window = static_cast<uint32_t>(cfg.transport.window);
  s.max_message_bytes = static_cast<uint64_t>(cfg.transport.max_message_mib)
                        << 20;
  return s;
}

} // namespace

caf::expected<upstream_settings> upstream_for(const node_config& cfg,
                                              const net::secure_transport& t) {
  if (cfg.node.upstream.empty())
    return make_fl_error(errc::invalid_config,
                         "--upstream HOST:PORT is required");
  auto endpoint = parse_endpoint(cfg.node.upstream);
  if (!endpoint)
    return std::move(endpoint.error());
  return upstream_to(cfg, t, endpoint->first, endpoint->second);
}

upstream_settings upstream_to(const node_config& cfg,
                              const net::secure_transport& t,
                              std::string host, uint16_t port) {
  upstream_settings us;
  us.host = std::move(host);
  us.port = port;
  // The token was proven (never sent) when the connection was made; the
  // join carries none.
  us.dialer = t.dialer;
  us.gate = t.gate;
  us.connect_timeout_s = cfg.transport.request_timeout_s;
  us.send = send_for(cfg);
  // With TLS, model values stay inside the TLS connection.
  us.bulk = cfg.transport.bulk_link && cfg.security.tls.empty();
  us.limits = limits_for(cfg);
  return us;
}

downstream_settings downstream_for(const node_config& cfg,
                                   const net::secure_transport& t,
                                   std::string id, bool folds_on_arrival) {
  downstream_settings ds;
  ds.node_id = std::move(id);
  ds.gate = t.gate;
  ds.send = send_for(cfg);
  ds.limits = limits_for(cfg);
  if (cfg.transport.bulk_link && cfg.security.tls.empty())
    ds.bulk_host = cfg.node.host;
  if (folds_on_arrival)
    ds.receive_budget_bytes
      = static_cast<uint64_t>(cfg.transport.receive_budget_mib) << 20;

  return ds;
}

caf::expected<uint16_t> publish_node(caf::actor_system& sys,
                                     const net::secure_transport& t,
                                     const caf::actor& connector,
                                     const node_config& cfg,
                                     const loggers& log) {
  auto port = t.publish(sys, connector, static_cast<uint16_t>(cfg.node.port),
                        cfg.node.host);
  if (!port)
    return make_fl_error(errc::io_error,
                         "cannot listen on " + cfg.node.host + ":"
                           + std::to_string(cfg.node.port) + ": "
                           + describe(port.error()));
  log.node->info("listening on {}:{}", cfg.node.host, *port);
  // `fl-node launch` waits for this file: a node that cannot write it
  // says so rather than leave the launcher waiting.
  if (!cfg.node.port_file.empty())
    if (auto err = write_text_file(cfg.node.port_file,
                                   std::to_string(*port) + "\n"))
      return err;
  return *port;
}

caf::error await_end(caf::actor_system& sys, const caf::actor& whom) {
  caf::error reason;
  caf::scoped_actor self{sys};
  self->monitor(whom);
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; });
  return reason;
}

int server_exit_code(const node_config& cfg, const run_logs& logs,
                     std::chrono::steady_clock::time_point start,
                     const caf::error& reason, const loggers& log,
                     bool print) {
  auto wall = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - start)
                .count();
  log.progress_done();
  if (print)
    print_run_summary(cfg, logs, wall);
  if (reason && reason != caf::exit_reason::normal) {
    log.node->error("server ended: {}", describe(reason));
    return 1;
  }
  return 0;
}

} // namespace fl::cli
