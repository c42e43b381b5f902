#include "cli/launch.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "cli/shell_words.hpp"
#include "cli/slurm_script.hpp"
#include "runtime/core/errors.hpp"

extern char** environ;

namespace fl::cli {

namespace {

using clock_type = std::chrono::steady_clock;

volatile std::sig_atomic_t interrupted = 0;

void on_signal(int) {
  interrupted = 1;
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

/// Follows a log file, printing the lines worth seeing with a node prefix.
struct log_follower {
  std::string name;
  std::string path;
  std::streamoff pos = 0;
  std::string partial;
  std::string last_line;

  /// Calls `on_line` for each new complete line; prints it when
  /// `everything` or when it is a warning or an error.
  template <class F>
  void poll(bool everything, F on_line) {
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
      if (line.empty())
        continue;
      last_line = line;
      on_line(line);
      bool show = everything || line.find("error") != std::string::npos
                  || line.find("warn") != std::string::npos
                  || line.find("listening on") != std::string::npos;
      if (show)
        std::printf("[%s] %s\n", name.c_str(), line.c_str());
    }
    std::fflush(stdout);
  }
  void poll(bool everything) {
    poll(everything, [](const std::string&) {});
  }
};

/// One started node: its process (fl-node, or ssh for a remote node), the
/// pipe that keeps a remote node alive, and its log.
struct node_process {
  pid_t pid = -1;
  int keepalive = -1; ///< write end of ssh's stdin; closing it stops the node
  int status = -1;    ///< exit code once ended
  bool reported = false; ///< its failure was announced
  log_follower log;
};

/// Starts `cmd` with stdout and stderr into `log`; with `keepalive`, its
/// stdin is a pipe whose write end is returned there (close-on-exec, so
/// no other child holds it).
pid_t start(const std::vector<std::string>& cmd, const std::string& log,
            int* keepalive) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  int fds[2] = {-1, -1};
  if (keepalive != nullptr) {
    if (::pipe2(fds, O_CLOEXEC) != 0)
      return -1;
    posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
                                     O_RDONLY, 0);
  }
  std::vector<char*> argv;
  for (const auto& a : cmd)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0)
    pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  if (keepalive != nullptr) {
    ::close(fds[0]);
    if (pid < 0)
      ::close(fds[1]);
    else
      *keepalive = fds[1];
  }
  return pid;
}

/// Whether the process ended (reaping it and keeping its exit code).
bool ended(node_process& p) {
  if (p.pid <= 0)
    return true;
  int status = 0;
  if (::waitpid(p.pid, &status, WNOHANG) != p.pid)
    return false;
  p.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  p.pid = -1;
  return true;
}

/// Waits up to `seconds` for every process to end; whether all did.
bool all_ended_within(std::vector<node_process>& procs, double seconds) {
  for (int t = 0; t <= static_cast<int>(seconds * 10); ++t) {
    bool any = false;
    for (auto& p : procs)
      any |= !ended(p);
    if (!any)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

/// Stops every node still running: remote ones by closing their
/// connection's input, all by SIGTERM; SIGKILL after 10 s.
void stop_all(std::vector<node_process>& procs) {
  for (auto& p : procs) {
    if (p.keepalive >= 0)
      ::close(p.keepalive), p.keepalive = -1;
    if (p.pid > 0)
      ::kill(p.pid, SIGTERM);
  }
  if (all_ended_within(procs, 10))
    return;
  for (auto& p : procs)
    if (p.pid > 0) {
      ::kill(p.pid, SIGKILL);
      ::waitpid(p.pid, nullptr, 0);
      p.pid = -1;
    }
}

std::string port_file(const cluster& c, const cluster_node& n) {
  return c.log_dir + "/" + n.name + ".port";
}

int print_commands(const cluster& c, const std::string& path) {
  std::vector<int64_t> ports;
  for (const auto& n : c.nodes)
    ports.push_back(n.port);
  auto cmds = cluster_commands(c, "fl-node", ports);
  std::map<std::string, std::vector<std::string>> by_host;
  for (size_t i = 0; i < cmds.size(); ++i)
    by_host[c.nodes[i].host].push_back(shell_join(cmds[i]));
  for (const auto& [host, lines] : by_host) {
    std::printf("# on %s\n", host.c_str());
    for (const auto& l : lines)
      std::printf("%s &\n", l.c_str());
  }
  std::error_code ec;
  std::filesystem::create_directories(c.log_dir, ec);
  const auto script = c.log_dir + "/"
                      + std::filesystem::path{path}.stem().string()
                      + ".sbatch";
  std::ofstream out{script};
  out << slurm_script(c, "fl-node", path);
  if (!out.flush()) {
    std::fprintf(stderr, "fl-node launch: cannot write '%s'\n",
                 script.c_str());
    return 1;
  }
  std::printf("# Slurm batch script: %s (sbatch %s)\n", script.c_str(),
              script.c_str());
  return 0;
}

/// Starts one node (here or over ssh) with its log; false when it could
/// not be started.
bool start_node(const cluster& c, size_t i, const std::string& fl_node,
                const std::vector<int64_t>& ports, node_process& p) {
  const auto& n = c.nodes[i];
  p.log = log_follower{n.name, c.log_dir + "/" + n.name + ".log", 0, {}, {}};
  auto cmd = cluster_commands(c, fl_node, ports)[i];
  if (n.local) {
    std::remove(port_file(c, n).c_str());
    p.pid = start(cmd, p.log.path, nullptr);
  } else {
    p.pid = start(ssh_command(n, cmd), p.log.path, &p.keepalive);
  }
  if (p.pid < 0)
    return false;
  std::printf("[launch] started %s (%s, pid %d), log %s\n", n.name.c_str(),
              n.local ? "here" : ("ssh " + n.host).c_str(),
              static_cast<int>(p.pid), p.log.path.c_str());
  std::fflush(stdout);
  return true;
}

/// A decentralized cluster: every peer starts at once (each reaches its
/// neighbors through retries); the merged view follows peer 0 and every
/// warning; the launch ends when all peers ended, with the first non-zero
/// exit code among them.
int launch_peers(const cluster& c, const std::string& fl_node,
                 clock_type::time_point t0) {
  std::vector<int64_t> ports;
  for (const auto& n : c.nodes)
    ports.push_back(n.port);
  std::vector<node_process> procs(c.nodes.size());
  for (size_t i = 0; i < c.nodes.size(); ++i)
    if (!start_node(c, i, fl_node, ports, procs[i])) {
      std::fprintf(stderr, "fl-node launch: cannot start %s\n",
                   c.nodes[i].name.c_str());
      stop_all(procs);
      return 1;
    }
  int status = 0;
  while (!interrupted) {
    bool all = true;
    for (size_t i = 0; i < procs.size(); ++i) {
      auto& p = procs[i];
      p.log.poll(i == 0);
      if (!ended(p)) {
        all = false;
      } else if (p.status != 0 && !p.reported) {
        p.reported = true;
        std::printf("[launch] %s exited with %d: %s\n",
                    c.nodes[i].name.c_str(), p.status,
                    p.log.last_line.c_str());
        status = status != 0 ? status : p.status;
      }
    }
    if (all)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (interrupted) {
    std::printf("[launch] interrupted; stopping every peer\n");
    stop_all(procs);
    return 130;
  }
  for (auto& p : procs)
    p.log.poll(false);
  std::printf("[launch] %zu peers ended after %.2f s (exit %d); logs in %s\n",
              procs.size(), seconds_since(t0), status, c.log_dir.c_str());
  return status;
}

} // namespace

int run_launch(const std::string& path, bool print_only,
               const std::string& fl_node) {
  auto c = load_cluster(path);
  if (!c) {
    std::fprintf(stderr, "fl-node launch: %s\n", describe(c.error()).c_str());
    return 2;
  }
  if (print_only)
    return print_commands(*c, path);
  std::error_code ec;
  std::filesystem::create_directories(c->log_dir, ec);
  if (ec) {
    std::fprintf(stderr, "fl-node launch: cannot create '%s': %s\n",
                 c->log_dir.c_str(), ec.message().c_str());
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  const auto t0 = clock_type::now();
  if (c->nodes.front().role == "peer")
    return launch_peers(*c, fl_node, t0);
  std::vector<int64_t> ports;
  for (const auto& n : c->nodes)
    ports.push_back(n.port);
  std::vector<node_process> procs(c->nodes.size());
  size_t server = 0;
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "fl-node launch: %s\n", why.c_str());
    stop_all(procs);
    return 1;
  };
  // Start in dependency order: server, schedulers, clients; each server
  // and scheduler must listen before the nodes below it start.
  for (int rank = 0; rank < 3; ++rank) {
    for (size_t i = 0; i < c->nodes.size(); ++i) {
      const auto& n = c->nodes[i];
      const int r = n.role == "server" ? 0 : n.role == "scheduler" ? 1 : 2;
      if (r != rank)
        continue;
      if (n.role == "server")
        server = i;
      auto& p = procs[i];
      if (!start_node(*c, i, fl_node, ports, p))
        return fail("cannot start " + n.name
                    + (n.local ? "" : " (is ssh installed?)"));
      if (n.role == "client")
        continue;
      // Listening once it wrote its port file (local) or logged it
      // (remote, on its fixed port).
      bool ready = false;
      for (int t = 0; t < 1200 && !interrupted && !ready; ++t) {
        if (n.local) {
          std::ifstream in{port_file(*c, n)};
          int64_t port = 0;
          if (in >> port && port > 0)
            ports[i] = port, ready = true;
        } else {
          p.log.poll(false, [&](const std::string& line) {
            ready |= line.find("listening on") != std::string::npos;
          });
        }
        if (!ready && ended(p))
          break;
        if (!ready)
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (interrupted)
        break;
      if (!ready) {
        p.log.poll(true);
        return fail(n.name + " did not start listening; see "
                    + p.log.path);
      }
      std::printf("[launch] %s listening on %s:%lld after %.2f s\n",
                  n.name.c_str(), n.host.c_str(),
                  static_cast<long long>(ports[i]), seconds_since(t0));
    }
  }
  // Merged progress view until the server ends. A node that fails before
  // every member joined stops the launch: the server would wait for it.
  bool joined = false;
  while (!interrupted) {
    for (size_t i = 0; i < procs.size(); ++i) {
      auto& p = procs[i];
      p.log.poll(i == server, [&](const std::string& line) {
        if (i == server && !joined
            && (line.find("joined; starting round") != std::string::npos
                || line.find("joined; serving models") != std::string::npos)) {
          joined = true;
          std::printf("[launch] all members joined after %.2f s\n",
                      seconds_since(t0));
        }
      });
      if (i != server && p.pid > 0 && ended(p) && p.status != 0) {
        std::printf("[launch] %s exited with %d: %s\n",
                    c->nodes[i].name.c_str(), p.status,
                    p.log.last_line.c_str());
        if (!joined)
          return fail(c->nodes[i].name + " failed before training started; "
                      "see " + p.log.path);
      }
    }
    if (ended(procs[server]))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (interrupted) {
    std::printf("[launch] interrupted; stopping every node\n");
    stop_all(procs);
    return 130;
  }
  // The server sent Exit; give the others a moment to leave on their own.
  all_ended_within(procs, 15);
  for (size_t i = 0; i < procs.size(); ++i)
    procs[i].log.poll(i == server);
  stop_all(procs);
  std::printf("[launch] server exited with %d after %.2f s; logs in %s\n",
              procs[server].status, seconds_since(t0), c->log_dir.c_str());
  return procs[server].status;
}

} // namespace fl::cli
