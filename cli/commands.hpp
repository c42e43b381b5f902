#pragma once

#include "runtime/core/config.hpp"
#include "runtime/core/logging.hpp"

namespace fl::cli {

/// Each subcommand: runs to completion and returns the process exit code
/// (0 on success). Errors are logged through `log` with a clear message.

/// Server and clients in one process.
int run_sim(const node_config& cfg, const loggers& log);

/// A server published on node.host:node.port.
int run_server(const node_config& cfg, const loggers& log);

/// A scheduler published on node.host:node.port, joined to node.upstream.
int run_scheduler(const node_config& cfg, const loggers& log);

/// One process hosting `federation.clients` clients joined to node.upstream.
int run_client(const node_config& cfg, const loggers& log);

} // namespace fl::cli
