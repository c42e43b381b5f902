// The upstream connector against a fake server (an actor that speaks raw
// wire frames, reached through a fake dialer), driven by CAF's
// deterministic test coordinator.

#include <catch2/catch.hpp>

#include <set>

#include <caf/event_based_actor.hpp>
#include <caf/node_id.hpp>

#include "actors/interfaces.hpp"
#include "actors/upstream_connector.hpp"
#include "messages/codec.hpp"
#include "support/deterministic.hpp"
#include "support/scripted_client.hpp"
#include "support/synthetic_federation.hpp"

using namespace fl;

namespace {

/// What the fake server decoded from the connector's frames.
using received = std::shared_ptr<std::vector<envelope>>;

/// A fake server: decodes the frames it gets into `got`, and pushes
/// envelopes to a connector as frames when told `(send_atom, to, env)`.
caf::behavior fake_server(caf::event_based_actor* self, received got) {
  return {
    [got](frame_atom, wire_frame& f) {
      auto bytes = std::make_shared<const byte_buffer>(std::move(f.bytes));
      if (auto env = decode(bytes))
        got->push_back(std::move(*env));
    },
    [self](send_atom, const caf::actor& to, const envelope& env) {
      self->send(to, frame_atom::value, wire_frame{encode(env)});
    },
  };
}

/// Answers every connect request with the current fake server.
caf::behavior fake_dialer(caf::event_based_actor*,
                          std::shared_ptr<caf::actor> server) {
  return {[server](caf::connect_atom, const std::string&, uint16_t) {
    return caf::make_message(caf::node_id{},
                             caf::actor_cast<caf::strong_actor_ptr>(*server),
                             std::set<std::string>{});
  }};
}

struct fixture : test::deterministic_system {
  received got = std::make_shared<std::vector<envelope>>();
  std::shared_ptr<caf::actor> server = std::make_shared<caf::actor>();
  caf::actor connector;
  test::error_log errors = std::make_shared<std::vector<error_msg>>();

  fixture() {
    *server = sys.spawn(fake_server, got);
    upstream_settings s;
    s.token = "s3cret";
    s.dialer = sys.spawn(fake_dialer, server);
    connector = spawn_upstream_connector(sys, s, logs.log());
    run();
  }

  /// The fake server sends `env` to the connector as a frame.
  void from_server(const envelope& env) {
    caf::anon_send(*server, send_atom::value, connector, env);
    run();
  }
};

} // namespace

TEST_CASE("joins travel upstream with the token; replies reach the node",
          "[upstream_connector]") {
  fixture f;
  f.sys.spawn(test::scripted_client, f.connector, std::string{"c1"},
              test::conduct::honest, f.errors);
  f.run();
  REQUIRE(!f.got->empty());
  auto* j = std::get_if<join_msg>(&f.got->back().body);
  REQUIRE(j);
  CHECK(j->node_id == "c1");
  CHECK(j->auth_token == "s3cret");
  f.from_server(envelope{"c1", error_msg{7, "refused for a test"}});
  REQUIRE(f.errors->size() == 1);
  CHECK(f.errors->front().message == "refused for a test");
  // A reply for a node this process does not host goes nowhere.
  f.from_server(envelope{"stranger", error_msg{7, "not yours"}});
  CHECK(f.errors->size() == 1);
}

TEST_CASE("after a lost connection every local node joins again",
          "[upstream_connector]") {
  fixture f;
  f.sys.spawn(test::scripted_client, f.connector, std::string{"c1"},
              test::conduct::honest, f.errors);
  f.sys.spawn(test::scripted_client, f.connector, std::string{"c2"},
              test::conduct::honest, f.errors);
  f.run();
  CHECK(f.got->size() == 2);
  // The server goes away; the connector dials again and replays both joins.
  auto old = *f.server;
  *f.server = f.sys.spawn(fake_server, f.got);
  caf::anon_send(f.connector, caf::down_msg{old.address(), {}});
  f.run();
  REQUIRE(f.got->size() == 4);
  std::set<std::string> rejoined;
  for (size_t i = 2; i < 4; ++i)
    if (auto* j = std::get_if<join_msg>(&(*f.got)[i].body))
      rejoined.insert(j->node_id);
  CHECK(rejoined == std::set<std::string>{"c1", "c2"});
}

TEST_CASE("frames from anyone but the server are dropped",
          "[upstream_connector]") {
  fixture f;
  f.sys.spawn(test::scripted_client, f.connector, std::string{"c1"},
              test::conduct::honest, f.errors);
  f.run();
  // An impostor (not the connected server) sends c1 an Error.
  auto impostor = f.sys.spawn(fake_server, f.got);
  caf::anon_send(impostor, send_atom::value, f.connector,
                 envelope{"c1", error_msg{7, "from an impostor"}});
  f.run();
  CHECK(f.errors->empty());
  CHECK_THAT(f.logs.text(), Catch::Contains("from someone but the server"));
}

namespace {

/// Refuses every connect request, as a host with nothing listening does.
caf::behavior refusing_dialer(caf::event_based_actor*) {
  return {[](caf::connect_atom, const std::string&, uint16_t) -> caf::result<
            caf::node_id, caf::strong_actor_ptr, std::set<std::string>> {
    return make_fl_error(errc::io_error, "connection refused");
  }};
}

} // namespace

TEST_CASE("an unreachable upstream is reported with address and reason, "
          "then given up",
          "[upstream_connector]") {
  test::deterministic_system f;
  upstream_settings s;
  s.host = "10.1.2.3";
  s.port = 7000;
  s.max_attempts = 3;
  s.quiet_retry_s = 0; // report from the first retry on
  s.dialer = f.sys.spawn(refusing_dialer);
  auto errors = std::make_shared<std::vector<error_msg>>();
  auto connector = spawn_upstream_connector(f.sys, s, f.logs.log());
  f.sys.spawn(test::scripted_client, connector, std::string{"c1"},
              test::conduct::honest, errors);
  f.run();
  while (f.expire_timers() > 0) {
  }
  const auto text = f.logs.text();
  CHECK_THAT(text, Catch::Contains("warning [wire] cannot reach 10.1.2.3:7000 "
                                   "for 0 s (")
                     && Catch::Contains("connection refused")
                     && Catch::Contains("attempt 1 of 3, retrying in"));
  CHECK_THAT(text, Catch::Contains("cannot reach 10.1.2.3:7000 after 3 "
                                   "attempts in"));
  // Warnings at most every 10 s: the second retry (0.4 s later) is quiet.
  CHECK_THAT(text, !Catch::Contains("attempt 2 of 3"));
}
