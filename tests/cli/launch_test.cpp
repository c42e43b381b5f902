#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "cli/launch.hpp"
#include "cli/slurm_script.hpp"
#include "runtime/core/errors.hpp"

using namespace fl;

namespace {

std::string write_temp(const std::string& text) {
  char path[] = "/tmp/fl-cluster-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream{path} << text;
  return path;
}

std::string joined(const std::vector<std::string>& cmd) {
  std::string s;
  for (const auto& a : cmd)
    s += a + " ";
  return s;
}

} // namespace

TEST_CASE("a cluster file becomes one command per node", "[launch]") {
  auto path = write_temp(R"(
args = ["--model", "synthetic"]
[[node]]
name = "top"
role = "server"
host = "10.0.0.1"
port = 7000
[[node]]
name = "mid"
role = "scheduler"
host = "10.0.0.2"
port = 7001
upstream = "top"
[[node]]
role = "client"
host = "10.0.0.2"
upstream = "mid"
clients = 30
[[node]]
role = "client"
host = "10.0.0.3"
upstream = "mid"
clients = 20
)");
  auto c = cli::load_cluster(path);
  REQUIRE(c);
  REQUIRE(c->nodes.size() == 4);
  CHECK(c->nodes[2].name == "client-0");
  CHECK(!c->nodes[0].local);
  auto cmds = cli::cluster_commands(*c, "fl-node", {7000, 7001, 0, 0});
  // The server expects one member (the scheduler), the scheduler 50.
  CHECK_THAT(joined(cmds[0]), Catch::Contains("server --model synthetic")
                                && Catch::Contains("--clients 1 "));
  CHECK_THAT(joined(cmds[1]), Catch::Contains("--clients 50 ")
                                && Catch::Contains("--upstream 10.0.0.1:7000"));
  // Clients get consecutive global indices out of 50.
  CHECK_THAT(joined(cmds[2]), Catch::Contains("--client-offset 0 ")
                                && Catch::Contains("--total-clients 50 ")
                                && Catch::Contains("--upstream 10.0.0.2:7001"));
  CHECK_THAT(joined(cmds[3]), Catch::Contains("--client-offset 30 "));
  std::remove(path.c_str());
}

TEST_CASE("cluster files name TLS kits and the access file", "[launch]") {
  auto path = write_temp(R"(
tls_kits = "kits"
access = "kits/access.toml"
[[node]]
role = "server"
port = 7000
[[node]]
name = "host-a"
role = "client"
upstream = "server-0"
clients = 2
tls = "elsewhere/a"
)");
  auto c = cli::load_cluster(path);
  REQUIRE(c);
  auto cmds = cli::cluster_commands(*c, "fl-node", {7000, 0});
  CHECK_THAT(joined(cmds[0]), Catch::Contains("--tls kits/server-0 ")
                                && Catch::Contains("--access kits/access.toml"));
  CHECK_THAT(joined(cmds[1]), Catch::Contains("--tls elsewhere/a ")
                                && !Catch::Contains("--access"));
  std::remove(path.c_str());
}

TEST_CASE("a cluster of peers: indices in file order, every address",
          "[launch]") {
  auto path = write_temp(R"(
args = ["--topology", "ring"]
[[node]]
role = "peer"
host = "10.0.0.1"
port = 7101
[[node]]
role = "peer"
port = 7102
[[node]]
name = "far"
role = "peer"
host = "10.0.0.3"
port = 7103
)");
  auto c = cli::load_cluster(path);
  REQUIRE(c);
  auto cmds = cli::cluster_commands(*c, "fl-node", {7101, 7102, 7103});
  const std::string all
    = "--peers 10.0.0.1:7101,127.0.0.1:7102,10.0.0.3:7103 ";
  CHECK_THAT(joined(cmds[0]), Catch::StartsWith("fl-node peer --topology ring")
                                && Catch::Contains(all)
                                && Catch::Contains("--peer-index 0 "));
  CHECK_THAT(joined(cmds[1]), Catch::Contains("--id peer-1 ")
                                && Catch::Contains("--peer-index 1 "));
  CHECK_THAT(joined(cmds[2]), Catch::Contains("--id far ")
                                && Catch::Contains("--peer-index 2 "));
  auto script = cli::slurm_script(*c, "fl-node", "peers.toml");
  CHECK_THAT(script, Catch::Contains("peers ended with $status")
                       && !Catch::Contains("server_pid"));
  std::remove(path.c_str());
}

TEST_CASE("bad cluster files are refused with the reason", "[launch]") {
  auto check = [](const std::string& text, const std::string& why) {
    auto path = write_temp(text);
    auto c = cli::load_cluster(path);
    REQUIRE(!c);
    CHECK_THAT(describe(c.error()), Catch::Contains(why));
    std::remove(path.c_str());
  };
  check("[[node]]\nrole = \"client\"\nupstream = \"x:1\"\nclients = 1\n",
        "exactly one server");
  check("[[node]]\nrole = \"server\"\n[[node]]\nrole = \"client\"\n"
        "upstream = \"nobody\"\nclients = 1\n",
        "unknown upstream 'nobody'");
  check("[[node]]\nrole = \"server\"\nhost = \"10.1.1.1\"\n",
        "needs a fixed port");
  check("[[node]]\nrole = \"server\"\ncolour = \"blue\"\n",
        "unknown node key 'colour'");
  check("[[node]]\nrole = \"boss\"\n", "role must be server");
  check("[[node]]\nrole = \"peer\"\nport = 1\n[[node]]\nrole = \"server\"\n",
        "a cluster of peers (decentralized) has no server");
  check("[[node]]\nrole = \"peer\"\n", "peer 'peer-0' needs a fixed port");
  check("[[node]]\nrole = \"peer\"\nport = 1\nupstream = \"x:1\"\n",
        "has no upstream (peer)");
  // Host and user reach ssh's command line: no option smuggled in.
  check("[[node]]\nrole = \"server\"\nhost = \"-oProxyCommand=x\"\n"
        "port = 1\n",
        "node 'server-0' has a bad host '-oProxyCommand=x'");
  check("ssh_user = \"a b\"\n[[node]]\nrole = \"server\"\n",
        "has a bad ssh_user 'a b'");
  check("[[node]]\nrole = \"server\"\nname = \"../x\"\n",
        "must not hold '/'");
}

TEST_CASE("ssh settings: file defaults, node overrides, one ssh command",
          "[launch]") {
  auto path = write_temp(R"(
ssh_user = "fl"
ssh_key = "/keys/id"
workdir = "/srv/fl run"
fl_node = "/opt/fl/bin/fl-node"
[[node]]
name = "server"
role = "server"
host = "10.0.0.1"
port = 7000
[[node]]
role = "client"
host = "10.0.0.2"
upstream = "server"
clients = 4
ssh_user = "other"
ssh_port = 2222
ssh_options = ["-o", "StrictHostKeyChecking=accept-new"]
[[node]]
role = "client"
upstream = "server"
clients = 1
)");
  auto c = cli::load_cluster(path);
  INFO((c ? "" : describe(c.error())));
  REQUIRE(c);
  CHECK(c->nodes[0].ssh.user == "fl");
  CHECK(c->nodes[1].ssh.user == "other");
  CHECK(c->nodes[1].ssh.key == "/keys/id"); // not overridden: inherited
  CHECK(c->nodes[1].ssh.port == 2222);
  CHECK(c->nodes[0].ssh.port == 0);
  auto cmds = cli::cluster_commands(*c, "/local/fl-node", {7000, 0, 0});
  // Remote nodes run the remote fl-node, local ones this one.
  CHECK(cmds[1][0] == "/opt/fl/bin/fl-node");
  CHECK(cmds[2][0] == "/local/fl-node");
  auto ssh = cli::ssh_command(c->nodes[1], cmds[1]);
  CHECK_THAT(joined(ssh),
             Catch::StartsWith("ssh -o BatchMode=yes -o ConnectTimeout=10 "
                               "-i /keys/id -p 2222 -o "
                               "StrictHostKeyChecking=accept-new "
                               "other@10.0.0.2 "));
  // One remote shell word: cd to the (quoted) folder, run, stop on EOF.
  CHECK_THAT(ssh.back(), Catch::StartsWith("sh -c 'cd '\\''/srv/fl run'\\'' "
                                           "|| exit 1; exec 3<&0; "
                                           "/opt/fl/bin/fl-node client "));
  CHECK_THAT(ssh.back(), Catch::Contains("cat <&3")
                           && Catch::Contains("kill -TERM $pid")
                           && Catch::EndsWith("wait $pid'"));
  std::remove(path.c_str());
}

TEST_CASE("bad ssh keys are refused with the line", "[launch]") {
  auto path = write_temp("ssh_port = 70000\n[[node]]\nrole = \"server\"\n");
  auto c = cli::load_cluster(path);
  REQUIRE(!c);
  CHECK_THAT(describe(c.error()), Catch::Contains(":1: ssh_port must be in "
                                                  "[1, 65535]"));
  std::remove(path.c_str());
  path = write_temp("[[node]]\nrole = \"server\"\nssh_opts = [\"-v\"]\n");
  c = cli::load_cluster(path);
  REQUIRE(!c);
  CHECK_THAT(describe(c.error()),
             Catch::Contains(":3: unknown node key 'ssh_opts' (fl-node "
                             "launch --help lists the keys)"));
  std::remove(path.c_str());
}

TEST_CASE("the Slurm script maps hosts to allocated nodes", "[launch]") {
  auto path = write_temp(R"(
[[node]]
name = "server"
role = "server"
host = "a"
port = 7000
[[node]]
role = "client"
host = "b"
upstream = "server"
clients = 2
[[node]]
role = "client"
host = "a"
upstream = "server"
clients = 2
)");
  auto c = cli::load_cluster(path);
  REQUIRE(c);
  auto s = cli::slurm_script(*c, "fl-node", "x.toml");
  CHECK_THAT(s, Catch::Contains("#SBATCH --nodes=2\n")
                  && Catch::Contains("#SBATCH --ntasks=3\n"));
  CHECK_THAT(s, Catch::Contains("-w \"${hosts[0]}\" \"$FL_NODE\" server")
                  && Catch::Contains("--host \"${hosts[0]}\" --port 7000"));
  CHECK_THAT(s, Catch::Contains("-w \"${hosts[1]}\" \"$FL_NODE\" client")
                  && Catch::Contains("--upstream \"${hosts[0]}\":7000"));
  // The server is waited for before any client starts.
  CHECK(s.find("wait_listening \"$log_dir\"/server.log")
        < s.find("\"$FL_NODE\" client"));
  std::remove(path.c_str());
}
