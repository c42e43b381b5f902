#include "cli/launch.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <set>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <toml++/toml.h>

#include "runtime/core/errors.hpp"

extern char** environ;

namespace fl::cli {

namespace {

caf::error bad(const std::string& what) {
  return make_fl_error(errc::invalid_config, what);
}

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1";
}

caf::expected<std::vector<std::string>> string_array(const toml::node* n,
                                                     const std::string& what) {
  std::vector<std::string> out;
  if (n == nullptr)
    return out;
  auto* arr = n->as_array();
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

std::string port_file(const cluster& c, const cluster_node& n) {
  return c.log_dir + "/" + n.name + ".port";
}

volatile std::sig_atomic_t interrupted = 0;

void on_sigint(int) {
  interrupted = 1;
}

} // namespace

caf::expected<cluster> load_cluster(const std::string& path) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return make_fl_error(errc::io_error,
                         path + ":" + std::to_string(e.source().begin.line)
                           + ": " + std::string{e.description()});
  }
  cluster c;
  for (auto&& [k, v] : tbl) {
    std::string key{k.str()};
    if (key == "log_dir") {
      auto s = v.value<std::string>();
      if (!s)
        return bad(path + ": log_dir must be a string");
      c.log_dir = *s;
    } else if (key == "args") {
      auto a = string_array(&v, path + ": args");
      if (!a)
        return std::move(a.error());
      c.args = *a;
    } else if (key != "node") {
      return bad(path + ": unknown key '" + key + "'");
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
    for (auto&& [k, v] : *t) {
      std::string key{k.str()};
      auto where = path + ":" + std::to_string(v.source().begin.line) + ": ";
      if (key == "name" || key == "role" || key == "host" || key == "upstream") {
        auto s = v.value<std::string>();
        if (!s)
          return bad(where + key + " must be a string");
        (key == "name"   ? n.name
         : key == "role" ? n.role
         : key == "host" ? n.host
                         : n.upstream)
          = *s;
      } else if (key == "port" || key == "clients") {
        auto i = v.value_exact<int64_t>();
        if (!i || *i < 0)
          return bad(where + key + " must be a non-negative integer");
        (key == "port" ? n.port : n.clients) = *i;
      } else if (key == "args") {
        auto a = string_array(&v, where + "args");
        if (!a)
          return std::move(a.error());
        n.args = *a;
      } else if (key == "local") {
        auto b = v.value_exact<bool>();
        if (!b)
          return bad(where + "local must be true or false");
        n.local = *b;
      } else {
        return bad(where + "unknown node key '" + key + "'");
      }
    }
    if (n.role != "server" && n.role != "scheduler" && n.role != "client")
      return bad(path + ": node role must be server, scheduler or client, "
                        "got '"
                 + n.role + "'");
    if (n.name.empty())
      n.name = n.role + "-" + std::to_string(count_by_role[n.role]);
    ++count_by_role[n.role];
    n.local = n.local || is_loopback(n.host);
    c.nodes.push_back(std::move(n));
  }
  if (count_by_role["server"] != 1)
    return bad(path + ": exactly one server node is needed");
  std::set<std::string> names;
  for (const auto& n : c.nodes) {
    if (!names.insert(n.name).second)
      return bad(path + ": node name '" + n.name + "' is used twice");
    if (n.role == "server" && !n.upstream.empty())
      return bad(path + ": the server has no upstream");
    if (n.role != "server" && n.upstream.empty())
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
  std::vector<std::vector<std::string>> out;
  int64_t offset = 0;
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    const auto& n = c.nodes[i];
    std::vector<std::string> cmd{fl_node, n.role};
    cmd.insert(cmd.end(), c.args.begin(), c.args.end());
    if (n.role != "client") {
      cmd.insert(cmd.end(), {"--id", n.name, "--host", n.host, "--port",
                             std::to_string(n.port), "--clients",
                             std::to_string(members[n.name])});
      if (n.local)
        cmd.insert(cmd.end(), {"--port-file", port_file(c, n)});
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
    cmd.insert(cmd.end(), n.args.begin(), n.args.end());
    out.push_back(std::move(cmd));
  }
  return out;
}

namespace {

std::string shell_join(const std::vector<std::string>& cmd) {
  std::string s;
  for (const auto& a : cmd) {
    if (!s.empty())
      s += ' ';
    if (a.find_first_of(" \t\"'$\\") == std::string::npos && !a.empty()) {
      s += a;
    } else {
      s += '\'';
      for (char ch : a)
        s += ch == '\'' ? std::string{"'\\''"} : std::string{ch};
      s += '\'';
    }
  }
  return s;
}

pid_t start(const std::vector<std::string>& cmd, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv;
  for (const auto& a : cmd)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0)
    pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

/// Follows a log file, printing the lines worth seeing with a node prefix.
struct log_follower {
  std::string name;
  std::string path;
  std::streamoff pos = 0;
  std::string partial;

  void poll(bool everything) {
    std::ifstream in{path};
    if (!in)
      return;
    in.seekg(pos);
    std::string chunk{std::istreambuf_iterator<char>{in}, {}};
    pos += static_cast<std::streamoff>(chunk.size());
    partial += chunk;
    size_t nl;
    while ((nl = partial.find('\n')) != std::string::npos) {
      auto line = partial.substr(0, nl);
      partial.erase(0, nl + 1);
      bool show = everything || line.find("error") != std::string::npos
                  || line.find("warn") != std::string::npos;
      if (show)
        std::printf("[%s] %s\n", name.c_str(), line.c_str());
    }
    std::fflush(stdout);
  }
};

} // namespace

int run_launch(const std::string& path, bool print_only,
               const std::string& fl_node) {
  auto c = load_cluster(path);
  if (!c) {
    std::fprintf(stderr, "fl-node launch: %s\n", describe(c.error()).c_str());
    return 2;
  }
  std::vector<int64_t> ports;
  for (const auto& n : c->nodes)
    ports.push_back(n.port);
  if (print_only) {
    auto cmds = cluster_commands(*c, "fl-node", ports);
    std::map<std::string, std::vector<std::string>> by_host;
    for (size_t i = 0; i < cmds.size(); ++i)
      by_host[c->nodes[i].host].push_back(shell_join(cmds[i]));
    for (const auto& [host, lines] : by_host) {
      std::printf("# on %s\n", host.c_str());
      for (const auto& l : lines)
        std::printf("%s &\n", l.c_str());
    }
    return 0;
  }
  ::mkdir(c->log_dir.c_str(), 0755);
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  std::vector<pid_t> pids(c->nodes.size(), -1);
  std::vector<log_follower> logs;
  size_t server_index = 0;
  auto stop_all = [&] {
    for (auto p : pids)
      if (p > 0)
        ::kill(p, SIGTERM);
    for (auto& p : pids)
      if (p > 0)
        ::waitpid(p, nullptr, 0), p = -1;
  };
  // Start in dependency order: server, schedulers (nested ones after their
  // upstream), clients; each node waits for its upstream's port.
  std::vector<bool> started(c->nodes.size(), false);
  for (int pass = 0; pass < 3; ++pass) {
    for (size_t i = 0; i < c->nodes.size(); ++i) {
      auto& n = c->nodes[i];
      const int rank = n.role == "server" ? 0 : n.role == "scheduler" ? 1 : 2;
      if (rank != pass || started[i])
        continue;
      if (n.role == "server")
        server_index = i;
      if (!n.local) {
        auto cmds = cluster_commands(*c, fl_node, ports);
        std::printf("[launch] %s runs on %s; start it there with:\n  %s\n",
                    n.name.c_str(), n.host.c_str(),
                    shell_join(cmds[i]).c_str());
        started[i] = true;
        continue;
      }
      std::remove(port_file(*c, n).c_str());
      auto cmds = cluster_commands(*c, fl_node, ports);
      auto log_path = c->log_dir + "/" + n.name + ".log";
      pids[i] = start(cmds[i], log_path);
      if (pids[i] < 0) {
        std::fprintf(stderr, "fl-node launch: cannot start %s\n",
                     n.name.c_str());
        stop_all();
        return 1;
      }
      started[i] = true;
      logs.push_back(log_follower{n.name, log_path, 0, {}});
      std::printf("[launch] started %s (pid %d), log %s\n", n.name.c_str(),
                  static_cast<int>(pids[i]), log_path.c_str());
      if (n.role == "client")
        continue;
      // Ready once it wrote its port file.
      bool ready = false;
      for (int t = 0; t < 600 && !interrupted; ++t) {
        std::ifstream in{port_file(*c, n)};
        int64_t p = 0;
        if (in >> p && p > 0) {
          ports[i] = p;
          ready = true;
          break;
        }
        if (::waitpid(pids[i], nullptr, WNOHANG) == pids[i]) {
          pids[i] = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!ready) {
        std::fprintf(stderr, "fl-node launch: %s did not start listening; "
                             "see %s\n",
                     n.name.c_str(), log_path.c_str());
        stop_all();
        return 1;
      }
      std::printf("[launch] %s listening on %s:%lld\n", n.name.c_str(),
                  n.host.c_str(), static_cast<long long>(ports[i]));
    }
  }
  // Merged progress view until the server ends.
  int server_status = 0;
  bool server_done = pids[server_index] < 0;
  while (!server_done && !interrupted) {
    for (size_t k = 0; k < logs.size(); ++k)
      logs[k].poll(logs[k].name == c->nodes[server_index].name);
    int status = 0;
    if (::waitpid(pids[server_index], &status, WNOHANG)
        == pids[server_index]) {
      pids[server_index] = -1;
      server_status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
      server_done = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (interrupted) {
    std::printf("[launch] interrupted; stopping every node\n");
    stop_all();
    return 130;
  }
  // The server sent Exit; give the others a moment to leave on their own.
  for (int t = 0; t < 150; ++t) {
    bool any = false;
    for (auto& p : pids)
      if (p > 0) {
        if (::waitpid(p, nullptr, WNOHANG) == p)
          p = -1;
        else
          any = true;
      }
    if (!any)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (auto& l : logs)
    l.poll(l.name == c->nodes[server_index].name);
  stop_all();
  std::printf("[launch] server exited with %d; logs in %s\n", server_status,
              c->log_dir.c_str());
  return server_status;
}

} // namespace fl::cli
