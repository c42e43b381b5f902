#include <catch2/catch.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>

#include "runtime/federation/membership.hpp"

using namespace fl;

namespace {

model_layout small_layout() {
  model_layout l;
  l.add("w", {4});
  return l;
}

join_request req(const std::string& id, uint64_t samples = 10) {
  auto l = small_layout();
  return join_request{id, 2, samples, l.hash(), l.numel()};
}

struct routes {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::actor a = sys.spawn([] { return caf::behavior{[](int) {}}; });
  caf::actor b = sys.spawn([] { return caf::behavior{[](int) {}}; });
  ~routes() {
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  }
};

} // namespace

TEST_CASE("membership admits, counts and loses members", "[membership]") {
  routes r;
  membership m{small_layout(), 2};
  CHECK(m.join(req("c1", 10), r.a) == join_outcome::admitted);
  CHECK(m.join(req("c2", 20), r.a) == join_outcome::admitted);
  CHECK(m.join(req("c3", 5), r.b) == join_outcome::admitted);
  CHECK(m.alive() == 3);
  CHECK(m.alive_samples() == 35);
  CHECK(m.alive_ids() == std::vector<std::string>{"c1", "c2", "c3"});
  CHECK(m.routed_by(r.a.address()) == std::vector<std::string>{"c1", "c2"});
  CHECK(m.lose("c2"));
  CHECK_FALSE(m.lose("c2"));
  CHECK_FALSE(m.lose("nobody"));
  CHECK(m.alive() == 2);
  CHECK(m.find("c2") == nullptr);
  REQUIRE(m.find("c1") != nullptr);
  CHECK(m.find("c1")->num_samples == 10);
}

TEST_CASE("membership refuses a taken id, another protocol and another model",
          "[membership]") {
  routes r;
  membership m{small_layout(), 2};
  REQUIRE(m.join(req("c1"), r.a) == join_outcome::admitted);
  // Another connection claims a live id.
  CHECK(m.join(req("c1"), r.b) == join_outcome::id_in_use);
  auto old = req("c2");
  old.protocol = 1;
  CHECK(m.join(old, r.a) == join_outcome::bad_protocol);
  auto other = req("c3");
  other.numel = 5;
  CHECK(m.join(other, r.a) == join_outcome::layout_mismatch);
  other = req("c3");
  other.layout_hash ^= 1;
  CHECK(m.join(other, r.a) == join_outcome::layout_mismatch);
  CHECK_THAT(m.explain(join_outcome::layout_mismatch, other),
             Catch::Contains("does not match"));
  CHECK(m.alive() == 1);
}

TEST_CASE("a member re-joins after a loss, through any route",
          "[membership]") {
  routes r;
  membership m{small_layout(), 2};
  REQUIRE(m.join(req("c1", 10), r.a) == join_outcome::admitted);
  // Same route again (a reconnecting connector re-sends the join).
  CHECK(m.join(req("c1", 12), r.a) == join_outcome::rejoined);
  CHECK(m.alive() == 1);
  CHECK(m.find("c1")->num_samples == 12);
  REQUIRE(m.lose("c1"));
  CHECK(m.join(req("c1", 12), r.b) == join_outcome::rejoined);
  CHECK(m.alive() == 1);
  CHECK(m.find("c1")->route == r.b);
}

TEST_CASE("an update may claim at most the samples announced at join",
          "[membership]") {
  routes r;
  membership m{small_layout(), 2};
  REQUIRE(m.join(req("c1", 600), r.a) == join_outcome::admitted);
  CHECK(m.sample_limit("c1", 0) == 600);
  CHECK(m.sample_limit("c1", 100) == 100);
  CHECK(m.sample_limit("stranger", 0) == 0);
}

TEST_CASE("a route's members are found without scanning the others",
          "[membership][scale]") {
  // Prepare: 100,000 members behind route a (a host of virtual clients),
  // 10 behind route b.
  routes r;
  membership m{small_layout(), 2};
  const int n = 100000;
  for (int i = 0; i < n; ++i)
    REQUIRE(m.join(req("v" + std::to_string(i)), r.a)
            == join_outcome::admitted);
  for (int i = 0; i < 10; ++i)
    REQUIRE(m.join(req("b" + std::to_string(i)), r.b)
            == join_outcome::admitted);
  CHECK(m.costs().visited == 0); // joins scan nothing
  // Execute: route b goes down, its members are lost one by one.
  auto ids = m.routed_by(r.b.address());
  for (const auto& id : ids)
    CHECK(m.lose(id));
  // Assert: only b's 10 entries were read.
  CHECK(ids.size() == 10);
  CHECK(m.costs().visited == 10);
  CHECK(m.alive() == static_cast<size_t>(n));
  CHECK(m.alive_samples() == static_cast<uint64_t>(n) * 10);
}

TEST_CASE("the sorted list of live members is made once per change",
          "[membership][scale]") {
  routes r;
  membership m{small_layout(), 2};
  for (int i = 0; i < 1000; ++i)
    REQUIRE(m.join(req("c" + std::to_string(i)), r.a)
            == join_outcome::admitted);
  // 50 rounds of sampling read the same list.
  for (int round = 0; round < 50; ++round)
    REQUIRE(m.alive_view().size() == 1000);
  CHECK(m.costs().rebuilds == 1);
  CHECK(std::is_sorted(m.alive_view().begin(), m.alive_view().end(),
                       [](const client_info& x, const client_info& y) {
                         return x.id < y.id;
                       }));
  // A loss changes the live set: one more rebuild, then reuse again.
  REQUIRE(m.lose("c7"));
  for (int round = 0; round < 50; ++round)
    REQUIRE(m.alive_view().size() == 999);
  CHECK(m.costs().rebuilds == 2);
}

TEST_CASE("a member that moves to another route is found only there",
          "[membership]") {
  routes r;
  membership m{small_layout(), 2};
  REQUIRE(m.join(req("c1"), r.a) == join_outcome::admitted);
  REQUIRE(m.join(req("c2"), r.a) == join_outcome::admitted);
  CHECK(m.knows_route(r.a.address()));
  CHECK_FALSE(m.knows_route(r.b.address()));
  REQUIRE(m.lose("c1"));
  REQUIRE(m.join(req("c1"), r.b) == join_outcome::rejoined);
  CHECK(m.routed_by(r.a.address()) == std::vector<std::string>{"c2"});
  CHECK(m.routed_by(r.b.address()) == std::vector<std::string>{"c1"});
  // Back to a: listed once, not twice.
  REQUIRE(m.lose("c1"));
  REQUIRE(m.join(req("c1"), r.a) == join_outcome::rejoined);
  CHECK(m.routed_by(r.a.address())
        == std::vector<std::string>{"c1", "c2"});
  CHECK(m.routed_by(r.b.address()).empty());
}
