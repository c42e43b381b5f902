#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace fl::cli {

/// How `fl-node launch` reaches a remote host: ssh with these settings,
/// running `fl_node` in `workdir` there.
struct ssh_settings {
  std::string user;                 ///< "" = ssh's default (current user)
  std::string key;                  ///< identity file; "" = ssh's default
  int64_t port = 0;                 ///< 0 = ssh's default (22)
  std::vector<std::string> options; ///< extra ssh arguments, e.g. "-o", "X=y"
  std::string workdir;              ///< remote folder; "" = the login folder
  std::string fl_node;              ///< remote fl-node; "" = "fl-node" on PATH
};

/// One node of a cluster file.
struct cluster_node {
  std::string name;       ///< unique; default "<role>-<index>"
  std::string role;       ///< server | scheduler | client
  std::string host = "127.0.0.1";
  int64_t port = 0;       ///< server/scheduler; 0 = any (local nodes only)
  std::string upstream;   ///< a node name or HOST:PORT (scheduler, client)
  int64_t clients = 0;    ///< client: clients hosted; others: derived
  std::vector<std::string> args; ///< extra fl-node flags for this node
  bool local = false;     ///< started here (loopback hosts or local = true)
  std::string tls;        ///< its TLS kit folder; "" = the file's tls_kits/NAME
  ssh_settings ssh;       ///< remote nodes: the file's defaults, overridden
};

/// A cluster file: nodes plus flags shared by all of them.
struct cluster {
  std::vector<cluster_node> nodes;
  std::vector<std::string> args; ///< passed to every node
  std::string log_dir = "cluster-logs";
  /// `fl-node certs` output: every node runs with --tls tls_kits/NAME.
  std::string tls_kits;
  /// The access file servers, schedulers and peers read (--access).
  std::string access;
};

/// Every key a cluster file may have, with what it means (for `launch
/// --help`).
extern const char* const cluster_file_help;

/// Reads and checks a cluster TOML file: [[node]] tables with role, host,
/// port, upstream, clients, args (and optional name, local, and the ssh
/// keys); top-level `args`, `log_dir` and ssh defaults (ssh_user, ssh_key,
/// ssh_port, ssh_options, workdir, fl_node) that nodes override. Checks
/// roles, unique names, that upstreams name an existing server/scheduler
/// (or are HOST:PORT), that remote servers and schedulers have fixed
/// ports, and that there is exactly one server.
/// Errors: `io_error` (file), `invalid_config` (naming the node and line).
caf::expected<cluster> load_cluster(const std::string& path);

/// load_cluster on text already read; `path` names it in errors.
caf::expected<cluster> parse_cluster(const std::string& text,
                                     const std::string& path);

/// The fl-node command line of every node (upstreams resolved; `ports`
/// gives the bound port of local nodes once known, else the configured
/// one). A remote node's command starts with its `ssh.fl_node` when set,
/// else with `fl_node`.
std::vector<std::vector<std::string>>
cluster_commands(const cluster& c, const std::string& fl_node,
                 const std::vector<int64_t>& ports);

/// The ssh command that runs `node_cmd` on `n.host` in `n.ssh.workdir`.
/// The remote node is stopped when the ssh connection ends (its standard
/// input closes), so stopping the local ssh process stops the node; the
/// ssh process exits with the node's exit code. BatchMode is on: a host
/// that asks for a password fails at once instead of waiting.
std::vector<std::string> ssh_command(const cluster_node& n,
                                     const std::vector<std::string>& node_cmd);

} // namespace fl::cli
