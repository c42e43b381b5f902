// The downstream connector against fake peers (actors that speak raw wire
// frames), driven by CAF's deterministic test coordinator.

#include <catch2/catch.hpp>

#include <caf/event_based_actor.hpp>

#include "actors/downstream_connector.hpp"
#include "actors/interfaces.hpp"
#include "messages/codec.hpp"
#include "runtime/core/errors.hpp"
#include "support/deterministic.hpp"
#include "support/synthetic_federation.hpp"

using namespace fl;

namespace {

struct recorded {
  std::vector<envelope> delivered; ///< what reached the owner
  std::vector<envelope> replies;   ///< what came back to the peers
};

struct fixture : test::deterministic_system {
  std::shared_ptr<recorded> rec = std::make_shared<recorded>();
  caf::actor owner;
  caf::actor connector;

  fixture() {
    owner = sys.spawn([r = rec](caf::event_based_actor*) {
      return caf::behavior{
        [r](deliver_atom, envelope& env) { r->delivered.push_back(env); },
        [](lost_atom, const std::string&, const caf::error&) {},
      };
    });
    downstream_settings s;
    s.token = "s3cret";
    connector = spawn_downstream_connector(sys, owner, s, logs.log());
  }

  ~fixture() {
    caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
    run();
  }

  /// A fake remote peer: sends `bodies` as frames, records the replies.
  caf::actor peer(std::vector<message> bodies) {
    return sys.spawn([r = rec, c = connector,
                      bodies](caf::event_based_actor* self) {
      for (const auto& b : bodies)
        self->send(c, frame_atom::value,
                   wire_frame{encode(envelope{"", b})});
      return caf::behavior{[r](frame_atom, wire_frame& f) {
        auto bytes = std::make_shared<const byte_buffer>(std::move(f.bytes));
        if (auto env = decode(bytes))
          r->replies.push_back(std::move(*env));
      }};
    });
  }
};

join_msg join_with(const std::string& id, const std::string& token) {
  auto j = test::synthetic_join(id);
  j.auth_token = token;
  return j;
}

uint16_t error_code(const envelope& env) {
  auto* e = std::get_if<error_msg>(&env.body);
  return e ? e->code : 0;
}

} // namespace

TEST_CASE("a join without the token is refused at the edge",
          "[downstream_connector]") {
  fixture f;
  f.peer({join_with("a", "guess")});
  f.run();
  CHECK(f.rec->delivered.empty());
  REQUIRE(f.rec->replies.size() == 1);
  CHECK(error_code(f.rec->replies[0])
        == static_cast<uint16_t>(errc::unauthorized));
}

TEST_CASE("a join with the token reaches the owner without the token",
          "[downstream_connector]") {
  fixture f;
  f.peer({join_with("a", "s3cret")});
  f.run();
  REQUIRE(f.rec->delivered.size() == 1);
  auto* j = std::get_if<join_msg>(&f.rec->delivered[0].body);
  REQUIRE(j);
  CHECK(j->node_id == "a");
  CHECK(j->auth_token.empty());
}

TEST_CASE("a peer cannot speak for a node that joined through another",
          "[downstream_connector]") {
  fixture f;
  f.peer({join_with("a", "s3cret")});
  f.run();
  auto values = std::make_shared<std::vector<float>>(
    test::synthetic_model_size, 0.5f);
  update_msg spoofed;
  spoofed.node_id = "a";
  spoofed.round = 1;
  spoofed.num_samples = 1;
  spoofed.model.layout = test::synthetic_layout();
  spoofed.model.values = span<const float>{*values};
  // An update and a failure report in a's name, from another connection;
  // then that connection tries to take a's id.
  f.peer({spoofed, error_msg{static_cast<uint16_t>(errc::training_failed),
                             "fake failure", "a", 1},
          join_with("a", "s3cret")});
  f.run();
  CHECK(f.rec->delivered.size() == 1); // only a's own join
  REQUIRE(f.rec->replies.size() == 3);
  for (const auto& r : f.rec->replies)
    CHECK(error_code(r) == static_cast<uint16_t>(errc::unauthorized));
}

TEST_CASE("a node re-joins through its connection after a reconnect",
          "[downstream_connector]") {
  fixture f;
  f.peer({join_with("a", "s3cret"), join_with("a", "s3cret")});
  f.run();
  CHECK(f.rec->delivered.size() == 2);
  CHECK(f.rec->replies.empty());
}

TEST_CASE("garbage frames get an error and reach no one",
          "[downstream_connector]") {
  fixture f;
  f.sys.spawn([c = f.connector](caf::event_based_actor* self) {
    self->send(c, frame_atom::value, wire_frame{byte_buffer(64, 0xAB)});
  });
  f.run();
  CHECK(f.rec->delivered.empty());
}
