// The operator's access file: parsing, errors with file:line, reloading.

#include "runtime/core/errors.hpp"
#include "runtime/net/access_list.hpp"
#include "support/temp_files.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>

using namespace fl;
using namespace fl::net;

TEST_CASE("an access file lists identities, tokens, grants and denials",
          "[net][access]") {
  auto r = parse_access_rules(R"(deny = ["host-c"]
[nodes.host-a]
token = "0123456789abcdef0123"
ids = ["client-0..3"]
[nodes.server]
)",
                              "access.toml");
  REQUIRE(r);
  CHECK(r->deny.count("host-c") == 1);
  REQUIRE(r->nodes.count("host-a") == 1);
  CHECK(r->nodes.at("host-a").token == "0123456789abcdef0123");
  CHECK(r->nodes.at("host-a").ids.allows("client-3"));
  CHECK_FALSE(r->nodes.at("host-a").ids.allows("host-a"));
  CHECK(r->nodes.at("server").ids.allows("server"));
  CHECK(r->nodes.at("server").token.empty());
}

TEST_CASE("bad access files are refused with file and line", "[net][access]") {
  auto err = [](const std::string& text) {
    auto r = parse_access_rules(text, "a.toml");
    REQUIRE_FALSE(r);
    return describe(r.error());
  };
  CHECK_THAT(err("[nodes.x]\ntoken = \"short\"\n"),
             Catch::Contains("a.toml:2") && Catch::Contains("16 to 256"));
  CHECK_THAT(err("[nodes.\"bad name\"]\n"),
             Catch::Contains("not a valid identity"));
  CHECK_THAT(err("[nodes.x]\nids = [\"c-9..1\"]\n"),
             Catch::Contains("ends before it starts"));
  CHECK_THAT(err("allow = []\n"), Catch::Contains("unknown key 'allow'"));
  CHECK_THAT(err("[nodes.x]\ncolor = 1\n"),
             Catch::Contains("unknown key nodes.x.color"));
  CHECK_THAT(err("deny = [1]\n"), Catch::Contains("array of strings"));
  CHECK_THAT(err("deny = [\n"), Catch::Contains("a.toml:"));
}

TEST_CASE("an access file is read again when it changes, and a broken "
          "version keeps the old rules",
          "[net][access]") {
  test::temp_dir dir;
  auto path = dir.path("access.toml");
  std::ofstream{path} << "deny = []\n[nodes.a]\n";
  auto f = access_file::open(path);
  REQUIRE(f);
  CHECK((*f)->rules()->deny.empty());
  auto changed = (*f)->reload_if_changed();
  REQUIRE(changed);
  CHECK_FALSE(*changed);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::ofstream{path} << "deny = [\"a\"]\n[nodes.a]\n";
  changed = (*f)->reload_if_changed();
  REQUIRE(changed);
  CHECK(*changed);
  CHECK((*f)->rules()->deny.count("a") == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::ofstream{path} << "deny = [\n";
  CHECK_FALSE((*f)->reload_if_changed());
  CHECK((*f)->rules()->deny.count("a") == 1); // still in force
}
