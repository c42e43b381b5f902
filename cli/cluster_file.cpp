#include "cli/cluster_file.hpp"

#include <fstream>
#include <map>
#include <sstream>
#include <set>

#include <toml++/toml.h>

#include "cli/shell_words.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/net/loopback.hpp"

namespace fl::cli {

const char* const cluster_file_help = R"(Cluster file (TOML):
  log_dir = "cluster-logs"     per-node logs, port files, the Slurm script
  args = ["--seed", "0"]       flags for every node
  tls_kits = "kits"            mutual TLS: each node uses kits/<name> (made
                               by `fl-node certs --out kits NAME...`)
  access = "kits/access.toml"  servers, schedulers and peers: --access
  [[node]]                     one table per node:
    role = "server"            server | scheduler | client (one server), or
                               peer (decentralized: peers only, no server)
    name = "sched-a"           unique; default <role>-<index>
    host = "10.0.0.2"          where it runs (default 127.0.0.1)
    port = 7001                server/scheduler/peer listen port; 0 = any
                               free port (local servers/schedulers only)
    upstream = "server"        scheduler/client: a node name or HOST:PORT
    clients = 50               client: clients this process hosts
    args = ["--rounds", "30"]  extra flags for this node
    local = true               start it here although host is not loopback
    tls = "kits/host-a"        this node's TLS kit (overrides tls_kits)
  Remote nodes (host not loopback, local not set) are started over SSH with
  these keys, at the top level (defaults) or in a [[node]] (overrides):
    ssh_user = "fl"            login user (default: ssh's)
    ssh_key = "~/.ssh/id_ed25519"  identity file (default: ssh's)
    ssh_port = 22              (default: ssh's)
    ssh_options = ["-o", "StrictHostKeyChecking=accept-new"]  more ssh args
    workdir = "/srv/fl"        remote working folder (default: login folder)
    fl_node = "/opt/fl/bin/fl-node"  remote fl-node (default: on PATH)
  Peers take their index in file order and learn every peer's address;
  each needs a fixed port. Remote servers and schedulers need one too. A remote node stops when
  its ssh connection ends. `launch --print` prints every command by host
  and writes <log_dir>/<file>.sbatch, a Slurm batch script.)";

namespace {

caf::error bad(const std::string& what) {
  return make_fl_error(errc::invalid_config, what);
}

caf::expected<std::vector<std::string>> string_array(const toml::node& n,
                                                     const std::string& what) {
  std::vector<std::string> out;
  auto* arr = n.as_array();
  if (arr == nullptr)
    return bad(what + " must be an array of strings");
  for (auto& x : *arr) {
    auto v = x.value<std::string>();
    if (!v)
      return bad(what + " must be an array of strings");
    out.push_back(*v);
  }
  return out;
}

/// Reads `key` into `ssh` when it is one of the ssh keys. Returns whether
/// it was one; `err` is set when its value is wrong.
bool read_ssh_key(const std::string& key, const toml::node& v,
                  const std::string& where, ssh_settings& ssh,
                  caf::error& err) {
  if (key == "ssh_user" || key == "ssh_key" || key == "workdir"
      || key == "fl_node") {
    auto s = v.value<std::string>();
    if (!s) {
      err = bad(where + key + " must be a string");
      return true;
    }
    (key == "ssh_user"  ? ssh.user
     : key == "ssh_key" ? ssh.key
     : key == "workdir" ? ssh.workdir
                        : ssh.fl_node)
      = *s;
    return true;
  }
  if (key == "ssh_port") {
    auto i = v.value_exact<int64_t>();
    if (!i || *i < 1 || *i > 65535)
      err = bad(where + "ssh_port must be in [1, 65535]");
    else
      ssh.port = *i;
    return true;
  }
  if (key == "ssh_options") {
    auto a = string_array(v, where + "ssh_options");
    if (!a)
      err = std::move(a.error());
    else
      ssh.options = *a;
    return true;
  }
  return false;
}

/// Fills the node's ssh settings the node did not set from the defaults.
void inherit(ssh_settings& node, const ssh_settings& defaults,
             const std::set<std::string>& set_keys) {
  if (!set_keys.count("ssh_user"))
    node.user = defaults.user;
  if (!set_keys.count("ssh_key"))
    node.key = defaults.key;
  if (!set_keys.count("ssh_port"))
    node.port = defaults.port;
  if (!set_keys.count("ssh_options"))
    node.options = defaults.options;
  if (!set_keys.count("workdir"))
    node.workdir = defaults.workdir;
  if (!set_keys.count("fl_node"))
    node.fl_node = defaults.fl_node;
}

std::string line_of(const std::string& path, const toml::node& v) {
  return path + ":" + std::to_string(v.source().begin.line) + ": ";
}

} // namespace

caf::expected<cluster> load_cluster(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_fl_error(errc::io_error,
                         "cannot read cluster file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_cluster(text.str(), path);
}

caf::expected<cluster> parse_cluster(const std::string& text,
                                     const std::string& path) {
  toml::table tbl;
  try {
    tbl = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return make_fl_error(errc::io_error,
                         path + ":" + std::to_string(e.source().begin.line)
                           + ": " + std::string{e.description()});
  }
  cluster c;
  ssh_settings defaults;
  for (auto&& [k, v] : tbl) {
    std::string key{k.str()};
    caf::error err;
    if (key == "log_dir" || key == "tls_kits" || key == "access") {
      auto s = v.value<std::string>();
      if (!s)
        return bad(line_of(path, v) + key + " must be a string");
      (key == "log_dir" ? c.log_dir : key == "tls_kits" ? c.tls_kits : c.access)
        = *s;
    } else if (key == "args") {
      auto a = string_array(v, line_of(path, v) + "args");
      if (!a)
        return std::move(a.error());
      c.args = *a;
    } else if (read_ssh_key(key, v, line_of(path, v), defaults, err)) {
      if (err)
        return err;
    } else if (key != "node") {
      return bad(line_of(path, v) + "unknown key '" + key
                 + "' (fl-node launch --help lists the keys)");
    }
  }
  auto* nodes = tbl["node"].as_array();
  if (nodes == nullptr || nodes->empty())
    return bad(path + ": no [[node]] tables");
  std::map<std::string, size_t> count_by_role;
  for (auto& entry : *nodes) {
    auto* t = entry.as_table();
    if (t == nullptr)
      return bad(path + ": node entries must be tables");
    cluster_node n;
    std::set<std::string> set_keys;
    for (auto&& [k, v] : *t) {
      std::string key{k.str()};
      auto where = line_of(path, v);
      set_keys.insert(key);
      caf::error err;
      if (key == "name" || key == "role" || key == "host" || key == "upstream"
          || key == "tls") {
        auto s = v.value<std::string>();
        if (!s)
          return bad(where + key + " must be a string");
        (key == "name"   ? n.name
         : key == "role" ? n.role
         : key == "host" ? n.host
         : key == "tls"  ? n.tls
                         : n.upstream)
          = *s;
      } else if (key == "port" || key == "clients") {
        auto i = v.value_exact<int64_t>();
        if (!i || *i < 0 || (key == "port" && *i > 65535))
          return bad(where + key + " must be a non-negative integer"
                     + (key == "port" ? " up to 65535" : ""));
        (key == "port" ? n.port : n.clients) = *i;
      } else if (key == "args") {
        auto a = string_array(v, where + "args");
        if (!a)
          return std::move(a.error());
        n.args = *a;
      } else if (key == "local") {
        auto b = v.value_exact<bool>();
        if (!b)
          return bad(where + "local must be true or false");
        n.local = *b;
      } else if (read_ssh_key(key, v, where, n.ssh, err)) {
        if (err)
          return err;
      } else {
        return bad(where + "unknown node key '" + key
                   + "' (fl-node launch --help lists the keys)");
      }
    }
    inherit(n.ssh, defaults, set_keys);
    if (n.role != "server" && n.role != "scheduler" && n.role != "client"
        && n.role != "peer")
      return bad(path + ": node role must be server, scheduler, client or "
                        "peer, got '"
                 + n.role + "'");
    if (n.name.empty())
      n.name = n.role + "-" + std::to_string(count_by_role[n.role]);
    ++count_by_role[n.role];
    n.local = n.local || net::is_loopback_host(n.host);
    c.nodes.push_back(std::move(n));
  }
  const bool peers = count_by_role["peer"] > 0;
  if (peers && c.nodes.size() != count_by_role["peer"])
    return bad(path + ": a cluster of peers (decentralized) has no server, "
                      "scheduler or client nodes");
  if (!peers && count_by_role["server"] != 1)
    return bad(path + ": exactly one server node is needed (or only peer "
                      "nodes)");
  std::set<std::string> names;
  for (const auto& n : c.nodes) {
    if (!names.insert(n.name).second)
      return bad(path + ": node name '" + n.name + "' is used twice");
    if (n.name.find_first_of("/ \t") != std::string::npos)
      return bad(path + ": node name '" + n.name
                 + "' must not hold '/' or blanks (it names its log file)");
    // Both reach ssh's command line: a leading '-' would be read as an
    // option of ssh, not as the host or user.
    for (const auto& [what, value] : {std::pair{"host", &n.host},
                                      std::pair{"ssh_user", &n.ssh.user}})
      if ((!value->empty() && value->front() == '-')
          || value->find_first_of(" \t\n@") != std::string::npos)
        return bad(path + ": node '" + n.name + "' has a bad " + what + " '"
                   + *value + "'");
    if (n.host.empty())
      return bad(path + ": node '" + n.name + "' has an empty host");
    if ((n.role == "server" || n.role == "peer") && !n.upstream.empty())
      return bad(path + ": node '" + n.name + "' has no upstream ("
                 + n.role + ")");
    if (n.role == "peer" && n.port == 0)
      return bad(path + ": peer '" + n.name + "' needs a fixed port (every "
                        "peer is told all addresses at start)");
    if (n.role != "server" && n.role != "peer" && n.upstream.empty())
      return bad(path + ": node '" + n.name + "' needs an upstream");
    if (n.role == "client" && n.clients < 1)
      return bad(path + ": client node '" + n.name + "' needs clients >= 1");
    if (n.role != "client" && !n.local && n.port == 0)
      return bad(path + ": remote node '" + n.name + "' needs a fixed port");
  }
  for (const auto& n : c.nodes) {
    if (n.upstream.empty() || n.upstream.find(':') != std::string::npos)
      continue;
    bool found = false;
    for (const auto& m : c.nodes)
      found |= m.name == n.upstream && m.role != "client";
    if (!found)
      return bad(path + ": node '" + n.name + "' has unknown upstream '"
                 + n.upstream + "'");
  }
  return c;
}

std::vector<std::vector<std::string>>
cluster_commands(const cluster& c, const std::string& fl_node,
                 const std::vector<int64_t>& ports) {
  // Clients get consecutive global indices; every node learns how many
  // members join it directly.
  std::map<std::string, int64_t> members;
  int64_t total = 0;
  for (const auto& n : c.nodes)
    if (n.role == "client")
      total += n.clients;
  for (const auto& n : c.nodes)
    if (!n.upstream.empty())
      members[n.upstream] += n.role == "client" ? n.clients : 1;
  // Peers get their index in file order and every peer's address.
  std::string peer_list;
  for (const auto& n : c.nodes)
    if (n.role == "peer")
      peer_list += (peer_list.empty() ? "" : ",") + n.host + ":"
                   + std::to_string(n.port);
  std::vector<std::vector<std::string>> out;
  int64_t offset = 0;
  int64_t peer_index = 0;
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    const auto& n = c.nodes[i];
    const auto& exe = !n.local && !n.ssh.fl_node.empty() ? n.ssh.fl_node
                                                         : fl_node;
    std::vector<std::string> cmd{exe, n.role};
    cmd.insert(cmd.end(), c.args.begin(), c.args.end());
    if (n.role == "peer") {
      cmd.insert(cmd.end(), {"--id", n.name, "--peers", peer_list,
                             "--peer-index", std::to_string(peer_index++)});
    } else if (n.role != "client") {
      cmd.insert(cmd.end(), {"--id", n.name, "--host", n.host, "--port",
                             std::to_string(ports[i]), "--clients",
                             std::to_string(members[n.name])});
      if (n.local)
        cmd.insert(cmd.end(), {"--port-file", c.log_dir + "/" + n.name
                                                + ".port"});
    } else {
      cmd.insert(cmd.end(), {"--clients", std::to_string(n.clients),
                             "--client-offset", std::to_string(offset),
                             "--total-clients", std::to_string(total)});
      offset += n.clients;
    }
    if (!n.upstream.empty()) {
      std::string up = n.upstream;
      for (size_t j = 0; j < c.nodes.size(); ++j)
        if (c.nodes[j].name == n.upstream)
          up = c.nodes[j].host + ":"
               + (ports[j] > 0 ? std::to_string(ports[j])
                               : "<port of " + n.upstream + ">");
      cmd.insert(cmd.end(), {"--upstream", up});
    }
    const auto kit = !n.tls.empty()          ? n.tls
                     : !c.tls_kits.empty() ? c.tls_kits + "/" + n.name
                                           : std::string{};
    if (!kit.empty())
      cmd.insert(cmd.end(), {"--tls", kit});
    if (!c.access.empty() && n.role != "client")
      cmd.insert(cmd.end(), {"--access", c.access});
    cmd.insert(cmd.end(), n.args.begin(), n.args.end());
    out.push_back(std::move(cmd));
  }
  return out;
}

std::vector<std::string> ssh_command(const cluster_node& n,
                                     const std::vector<std::string>& node_cmd) {
  std::vector<std::string> cmd{"ssh", "-o", "BatchMode=yes", "-o",
                               "ConnectTimeout=10"};
  if (!n.ssh.key.empty())
    cmd.insert(cmd.end(), {"-i", n.ssh.key});
  if (n.ssh.port > 0)
    cmd.insert(cmd.end(), {"-p", std::to_string(n.ssh.port)});
  cmd.insert(cmd.end(), n.ssh.options.begin(), n.ssh.options.end());
  cmd.push_back(n.ssh.user.empty() ? n.host : n.ssh.user + "@" + n.host);
  // The remote shell keeps the connection's input on fd 3 and stops the
  // node when it ends: a background job's stdin is /dev/null otherwise.
  std::string script;
  if (!n.ssh.workdir.empty())
    script += "cd " + shell_quote(n.ssh.workdir) + " || exit 1; ";
  script += "exec 3<&0; " + shell_join(node_cmd)
            + " </dev/null & pid=$!; "
              "( cat <&3 >/dev/null 2>&1; kill -TERM $pid 2>/dev/null ) "
              ">/dev/null 2>&1 & wait $pid";
  cmd.push_back("sh -c " + shell_quote(script));
  return cmd;
}

} // namespace fl::cli
