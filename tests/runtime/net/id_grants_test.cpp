// Node-id grants: which ids an identity may join as.

#include "runtime/net/id_grants.hpp"

#include <catch2/catch.hpp>

using namespace fl::net;

TEST_CASE("a range grant allows exactly its numbers", "[net][grants]") {
  auto g = id_grants::parse({"client-0..7", "server"});
  REQUIRE(g);
  CHECK(g->allows("client-0"));
  CHECK(g->allows("client-7"));
  CHECK_FALSE(g->allows("client-8"));
  CHECK_FALSE(g->allows("client-"));
  CHECK_FALSE(g->allows("client-07")); // not how the roster writes ids
  CHECK_FALSE(g->allows("client-x"));
  CHECK_FALSE(g->allows("xclient-1"));
  CHECK(g->allows("server"));
  CHECK_FALSE(g->allows("server2"));
  CHECK(g->describe() == "client-0..7, server");
}

TEST_CASE("the default grant is the identity's own name", "[net][grants]") {
  auto g = id_grants::only("peer-3");
  CHECK(g.allows("peer-3"));
  CHECK_FALSE(g.allows("peer-4"));
}

TEST_CASE("a star grant allows any id", "[net][grants]") {
  auto g = id_grants::parse({"*"});
  REQUIRE(g);
  CHECK(g->allows("anything"));
}

TEST_CASE("malformed grants are refused with the grant named",
          "[net][grants]") {
  for (std::string bad : {"", "client-9..3", "0..5", "client-a..5",
                          "client-1..", "client-1..99999999999999999999"}) {
    auto g = id_grants::parse({bad});
    CHECK_FALSE(g);
  }
}
