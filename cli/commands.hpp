#pragma once

#include "cli/setup.hpp"
#include "runtime/core/config.hpp"
#include "runtime/core/logging.hpp"

namespace fl::cli {

/// Each subcommand: runs to completion, shuts its actor system down and
/// returns the process exit code (0 on success). Errors are logged through
/// `log` with a clear message. `plug` replaces the config's trainer and
/// data (an embedding application's own); a server fills `out.logs` when
/// given and prints its summary when `out.print_summary`.

/// Where a server's records go.
struct run_output {
  std::shared_ptr<run_logs> logs = std::make_shared<run_logs>();
  bool print_summary = true;
};

/// Server and clients in one process.
int run_sim(const node_config& cfg, const loggers& log,
            const node_plugins& plug = {}, const run_output& out = {});

/// Decentralized peers in one process (federation.mode = gossip).
int run_gossip_sim(const node_config& cfg, const loggers& log,
                   const node_plugins& plug = {}, bool print_summary = true);

/// One decentralized peer: gossip.index of gossip.peers, published on its
/// own address there.
int run_peer(const node_config& cfg, const loggers& log,
             const node_plugins& plug = {});

/// A server published on node.host:node.port.
int run_server(const node_config& cfg, const loggers& log,
               const node_plugins& plug = {}, const run_output& out = {});

/// A scheduler published on node.host:node.port, joined to node.upstream.
int run_scheduler(const node_config& cfg, const loggers& log,
                  const node_plugins& plug = {});

/// One process hosting `federation.clients` clients joined to node.upstream.
int run_client(const node_config& cfg, const loggers& log,
               const node_plugins& plug = {});

} // namespace fl::cli
