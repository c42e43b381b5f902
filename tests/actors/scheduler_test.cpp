// The scheduler between a fake upstream server and scripted clients, and
// the relay, driven by CAF's deterministic test coordinator.

#include <catch2/catch.hpp>

#include "actors/relay.hpp"
#include "actors/scheduler.hpp"
#include "runtime/core/errors.hpp"
#include "support/deterministic.hpp"
#include "support/scripted_client.hpp"
#include "support/synthetic_federation.hpp"

using namespace fl;

namespace {

/// What the fake upstream server received from the scheduler.
struct upstream_log {
  std::vector<join_msg> joins;
  std::vector<update_msg> updates;
  std::vector<error_msg> errors;
  std::vector<envelope> other;
};

struct fixture : test::deterministic_system {
  std::shared_ptr<upstream_log> up = std::make_shared<upstream_log>();
  test::error_log errors = std::make_shared<std::vector<error_msg>>();
  caf::actor upstream;
  caf::actor sched;
  std::shared_ptr<std::vector<float>> model = std::make_shared<
    std::vector<float>>(test::synthetic_model_size, 0.f);

  explicit fixture(std::vector<test::conduct> clients, double quorum = 0.5) {
    upstream = sys.spawn([u = up](caf::event_based_actor* self) {
      return caf::behavior{
        [u](deliver_atom, envelope& env) {
          if (auto* j = std::get_if<join_msg>(&env.body))
            u->joins.push_back(*j);
          else if (auto* x = std::get_if<update_msg>(&env.body))
            u->updates.push_back(*x);
          else if (auto* e = std::get_if<error_msg>(&env.body))
            u->errors.push_back(*e);
          else
            u->other.push_back(env);
        },
        // The test speaks as the server: messages must come from upstream.
        [self](send_atom, const caf::actor& to, envelope& env) {
          self->send(to, deliver_atom::value, std::move(env));
        },
      };
    });
    scheduler_settings s;
    s.id = "sched";
    s.layout = test::synthetic_layout();
    s.min_clients = clients.size();
    s.quorum = quorum;
    s.round_deadline_s = 30;
    s.exit_grace_s = 1;
    s.detached_aggregation = false;
    s.folder = std::shared_ptr<aggregator>{make_cpu_aggregator(1)};
    sched = spawn_scheduler(sys, s, upstream, logs.log());
    test::spawn_scripted_clients(sys, sched, clients, errors);
  }

  /// The fake server activates the scheduler for `round`.
  void activate(uint64_t round) {
    activation_msg act;
    act.round = round;
    act.model_version = round - 1;
    act.model.layout = test::synthetic_layout();
    act.model.values = span<const float>{*model};
    act.model.owner = model;
    caf::anon_send(upstream, send_atom::value, sched, envelope{"sched", act});
    run();
  }
};

} // namespace

TEST_CASE("a scheduler joins upstream as one client with its group's "
          "samples and sends one pre-aggregated update",
          "[scheduler]") {
  fixture f{{test::conduct::honest, test::conduct::honest,
             test::conduct::huge_values}};
  f.run();
  REQUIRE(f.up->joins.size() == 1);
  CHECK(f.up->joins[0].node_id == "sched");
  CHECK(f.up->joins[0].num_samples == 150);
  CHECK(f.up->joins[0].layout_hash == test::synthetic_layout().hash());
  f.activate(1);
  // The 3e38 update was refused; the mean of the two honest ones went up.
  REQUIRE(f.up->updates.size() == 1);
  const auto& u = f.up->updates[0];
  CHECK(u.round == 1);
  CHECK(u.num_samples == 100);
  CHECK(u.model.values[0] == Approx(0.05)); // 0 + 0.1 * (0.5 - 0)
  CHECK_THAT(f.logs.text(), Catch::Contains("update from client-2 refused"));
}

TEST_CASE("below quorum, or when members fail, the scheduler reports the "
          "round as failed at once",
          "[scheduler][failures]") {
  fixture f{{test::conduct::honest, test::conduct::fails,
             test::conduct::fails},
            1.0};
  f.run();
  f.activate(1); // no timer expired: the failure reports close the round
  CHECK(f.up->updates.empty());
  REQUIRE(f.up->errors.size() == 1);
  CHECK(f.up->errors[0].node_id == "sched");
  CHECK(f.up->errors[0].round == 1);
  CHECK_THAT(f.up->errors[0].message, Catch::Contains("1/3 updates"));
}

TEST_CASE("a silent member fails at the scheduler's deadline",
          "[scheduler][failures]") {
  fixture f{{test::conduct::honest, test::conduct::silent}};
  f.run();
  f.activate(1);
  CHECK(f.up->updates.empty());
  f.expire_timers();
  REQUIRE(f.up->updates.size() == 1);
  CHECK(f.up->updates[0].num_samples == 50);
}

TEST_CASE("a member with another model is refused by the scheduler",
          "[scheduler][failures]") {
  fixture f{{test::conduct::honest}};
  auto errors = f.errors;
  f.sys.spawn([s = f.sched, errors](caf::event_based_actor* self) {
    test::send_env(self, s, test::synthetic_join("other", 77));
    return caf::behavior{[errors](deliver_atom, envelope& env) {
      if (auto* e = std::get_if<error_msg>(&env.body))
        errors->push_back(*e);
    }};
  });
  f.run();
  REQUIRE(f.errors->size() == 1);
  CHECK((*f.errors)[0].code == static_cast<uint16_t>(errc::layout_mismatch));
  REQUIRE(f.up->joins.size() == 1);
  CHECK(f.up->joins[0].num_samples == 50); // only the admitted member
}

TEST_CASE("a relay forwards members upstream and multicast replies down",
          "[relay]") {
  test::deterministic_system d;
  auto up = std::make_shared<std::vector<envelope>>();
  auto server = d.sys.spawn([up](caf::event_based_actor* self) {
    return caf::behavior{
      [up](deliver_atom, envelope& env) { up->push_back(env); },
      [self](send_atom, const caf::actor& to, envelope& env) {
        self->send(to, deliver_atom::value, std::move(env));
      },
    };
  });
  auto relay = spawn_relay(d.sys, relay_settings{"relay", 1}, server,
                           d.logs.log());
  auto errors = std::make_shared<std::vector<error_msg>>();
  for (int i = 0; i < 2; ++i)
    d.sys.spawn(test::scripted_client, relay, "c" + std::to_string(i),
                test::conduct::honest, errors);
  d.run();
  REQUIRE(up->size() == 2); // both joins, unchanged
  CHECK(std::holds_alternative<join_msg>((*up)[0].body));
  // One Exit for both members (a multicast envelope) ends them and the relay.
  bool relay_ended = false;
  relay->attach_functor([&](const caf::error&) { relay_ended = true; });
  caf::anon_send(server, send_atom::value, relay,
                 envelope{"c0", exit_msg{"done"}, {"c1"}});
  d.run();
  CHECK(relay_ended);
}
