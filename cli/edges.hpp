#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/downstream_connector.hpp"
#include "actors/upstream_connector.hpp"
#include "cli/setup.hpp"
#include "runtime/core/config.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/net/secure_transport.hpp"

namespace fl::cli {

/// The process edges shared by the subcommands: connector settings from the
/// config, publishing, and waiting for the node that runs the show.

/// Upstream connector settings for node.upstream (timeouts, limits), dialing
/// through `t`. Errors: `invalid_config` if node.upstream is empty or not
/// HOST:PORT.
caf::expected<upstream_settings> upstream_for(const node_config& cfg,
                                              const net::secure_transport& t);

/// Upstream connector settings for host:port (timeouts, limits), dialing
/// through `t`.
upstream_settings upstream_to(const node_config& cfg,
                              const net::secure_transport& t,
                              std::string host, uint16_t port);

/// Downstream connector settings for a node called `id`; joins are checked
/// against the identities `t` proved. A node whose owner folds updates on
/// arrival (server, scheduler) bounds what it receives at once by
/// transport.receive_budget_mib; a peer, which holds its neighbors' models
/// until it averages, does not.
downstream_settings downstream_for(const node_config& cfg,
                                   const net::secure_transport& t,
                                   std::string id, bool folds_on_arrival);

/// Publishes `connector` on node.host:node.port behind `t`'s gate, logs the
/// bound port and writes it to node.port_file (temp file + rename, so
/// readers never see a partial file). Errors: from CAF's publish (port in
/// use, bad address).
caf::expected<uint16_t> publish_node(caf::actor_system& sys,
                                     const net::secure_transport& t,
                                     const caf::actor& connector,
                                     const node_config& cfg,
                                     const loggers& log);

/// Blocks until `whom` ends; returns its exit reason.
caf::error await_end(caf::actor_system& sys, const caf::actor& whom);

/// Prints the run summary (when `print`) and turns the server's exit
/// reason into the process exit code (0 on a normal end).
int server_exit_code(const node_config& cfg, const run_logs& logs,
                     std::chrono::steady_clock::time_point start,
                     const caf::error& reason, const loggers& log,
                     bool print = true);

} // namespace fl::cli
