#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace fl::cli {

/// One node of a cluster file.
struct cluster_node {
  std::string name;       ///< unique; default "<role>-<index>"
  std::string role;       ///< server | scheduler | client
  std::string host = "127.0.0.1";
  int64_t port = 0;       ///< server/scheduler; 0 = any (local nodes only)
  std::string upstream;   ///< a node name or HOST:PORT (scheduler, client)
  int64_t clients = 0;    ///< client: clients hosted; others: derived
  std::vector<std::string> args; ///< extra fl-node flags for this node
  bool local = false;     ///< started by `launch` (loopback hosts or local = true)
};

/// A cluster file: nodes plus flags shared by all of them.
struct cluster {
  std::vector<cluster_node> nodes;
  std::vector<std::string> args; ///< passed to every node
  std::string log_dir = "cluster-logs";
};

/// Reads and checks a cluster TOML file: [[node]] tables with role, host,
/// port, upstream, clients, args (and optional name, local); top-level
/// `args` and `log_dir`. Checks roles, unique names, that upstreams name an
/// existing server/scheduler (or are HOST:PORT), that remote servers and
/// schedulers have fixed ports, and that there is exactly one server.
/// Errors: `io_error` (file), `invalid_config` (naming the node).
caf::expected<cluster> load_cluster(const std::string& path);

/// The fl-node command line of every node (upstreams resolved; `port_of`
/// gives the bound port of local nodes once known, else the configured one).
std::vector<std::vector<std::string>>
cluster_commands(const cluster& c, const std::string& fl_node,
                 const std::vector<int64_t>& ports);

/// `fl-node launch`: with `print_only`, prints one command per node
/// (ssh-ready, grouped by host) and returns. Otherwise starts the local
/// nodes (servers, then schedulers, then clients, each waiting for its
/// upstream to listen), writes per-node logs to log_dir, streams a merged
/// progress view, and stops everything on Ctrl-C or once the server exits.
/// Returns the server's exit code (or 130 after Ctrl-C).
int run_launch(const std::string& path, bool print_only,
               const std::string& fl_node);

} // namespace fl::cli
