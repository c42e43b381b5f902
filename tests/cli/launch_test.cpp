#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "cli/launch.hpp"
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
}
