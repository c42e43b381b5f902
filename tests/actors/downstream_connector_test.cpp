// The downstream connector against fake peers (actors that speak raw wire
// frames), driven by CAF's deterministic test coordinator.

#include <catch2/catch.hpp>

#include <caf/event_based_actor.hpp>

#include "actors/downstream_connector.hpp"
#include "actors/interfaces.hpp"
#include "messages/codec.hpp"
#include "runtime/core/errors.hpp"
#include "support/deterministic.hpp"
#include "support/log_capture.hpp"
#include "support/temp_files.hpp"
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

TEST_CASE("a peer that joined nothing cannot make the connector buffer a "
          "transfer",
          "[downstream_connector]") {
  fixture f;
  // A 4 MiB update in 256 KiB chunks, before any join: the first chunk
  // announces more than a join may take and the transfer is dropped.
  std::vector<float> values(size_t{1} << 20, 0.5f);
  update_msg up;
  up.node_id = "a";
  up.num_samples = 1;
  up.model.kind = tensor_kind::params;
  up.model.layout.add("w", {static_cast<int64_t>(values.size())});
  up.model.values = span<const float>{values};
  auto frames = encode_frames(envelope{"", up}, size_t{256} << 10, 1);
  REQUIRE(frames.size() > 4);
  f.sys.spawn([r = f.rec, c = f.connector,
               frames](caf::event_based_actor* self) {
    for (const auto& fr : frames)
      self->send(c, frame_atom::value, wire_frame{fr});
    return caf::behavior{[r](frame_atom, wire_frame& w) {
      auto bytes = std::make_shared<const byte_buffer>(std::move(w.bytes));
      if (auto env = decode(bytes))
        r->replies.push_back(std::move(*env));
    }};
  });
  f.run();
  CHECK(f.rec->delivered.empty());
  REQUIRE_FALSE(f.rec->replies.empty());
  CHECK(error_code(f.rec->replies.front())
        == static_cast<uint16_t>(errc::too_large));
}

TEST_CASE("a join is admitted only under an id the sender's proven "
          "identity may use",
          "[downstream_connector]") {
  test::deterministic_system sys_fixture;
  test::log_capture logs;
  auto rec = std::make_shared<recorded>();
  auto& sys = sys_fixture.sys;
  auto owner = sys.spawn([r = rec](caf::event_based_actor*) {
    return caf::behavior{
      [r](deliver_atom, envelope& env) { r->delivered.push_back(env); },
      [](lost_atom, const std::string&, const caf::error&) {},
    };
  });
  net::gate_settings gs;
  test::temp_dir dir;
  auto access = dir.write("access.toml",
                          "[nodes.host-a]\ntoken = \"aaaaaaaaaaaaaaaa\"\n"
                          "ids = [\"client-0..1\"]\n");
  gs.access = *net::access_file::open(access);
  auto gate = std::make_shared<net::gatekeeper>(gs, logs.log());
  downstream_settings s;
  s.gate = gate;
  auto connector = spawn_downstream_connector(sys, owner, s, logs.log());
  auto send_join = [&](const std::string& id) {
    sys.spawn([r = rec, c = connector, id](caf::event_based_actor* self) {
      self->send(c, frame_atom::value,
                 wire_frame{encode(envelope{"", test::synthetic_join(id)})});
      return caf::behavior{[r](frame_atom, wire_frame& w) {
        auto bytes = std::make_shared<const byte_buffer>(std::move(w.bytes));
        if (auto env = decode(bytes))
          r->replies.push_back(std::move(*env));
      }};
    });
    sys_fixture.run();
  };
  // This process's runtime node never proved an identity: refused.
  send_join("client-0");
  CHECK(rec->delivered.empty());
  REQUIRE(rec->replies.size() == 1);
  CHECK(error_code(rec->replies.back())
        == static_cast<uint16_t>(errc::unauthorized));
  // Bound to host-a, it may join as client-1 but not as client-2.
  std::string why;
  REQUIRE(gate->bind(sys.node(),
                     net::peer_identity{"host-a",
                                        *net::id_grants::parse(
                                          {"client-0..1"})},
                     why));
  send_join("client-1");
  CHECK(rec->delivered.size() == 1);
  send_join("client-2");
  CHECK(rec->delivered.size() == 1);
  CHECK(error_code(rec->replies.back())
        == static_cast<uint16_t>(errc::unauthorized));
  CHECK_THAT(logs.text(), Catch::Contains("may join only as client-0..1"));
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
  sys_fixture.run();
}
