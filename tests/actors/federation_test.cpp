// A whole federation in one process with the synthetic trainer: server,
// training pool, clients and a few scripted misbehaving clients.

#include <catch2/catch.hpp>

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/client.hpp"
#include "actors/interfaces.hpp"
#include "actors/scheduler.hpp"
#include "actors/server.hpp"
#include "actors/training_pool.hpp"
#include "messages/system_config.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/aggregation/fedavg.hpp"
#include "runtime/training/synthetic_trainer.hpp"
#include "support/log_capture.hpp"
#include "support/synthetic_federation.hpp"

using namespace fl;

namespace {

constexpr uint64_t model_size = test::synthetic_model_size;

struct federation {
  node_config cfg;
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  test::log_capture logs;
  std::shared_ptr<round_log> rounds = std::make_shared<round_log>();
  caf::actor pool;
  caf::actor server;

  federation(uint64_t num_rounds, uint64_t min_clients, uint64_t per_round,
             double quorum, double deadline_s) {
    trainer_factory make = [] {
      return std::make_unique<synthetic_trainer>(model_size);
    };
    pool = spawn_training_pool(sys, 2, make, logs.log());
    auto initial = test::synthetic_initial_model(model_size);
    server_settings s;
    s.rounds = num_rounds;
    s.min_clients = min_clients;
    s.round_deadline_s = deadline_s;
    s.exit_grace_s = 5;
    s.log_sink = rounds;
    auto evaluator = spawn_training_worker(sys, make(), logs.log());
    server = spawn_server(sys, s, std::make_shared<fedavg>(per_round, quorum, 0),
                          std::move(initial), evaluator, logs.log());
    evaluator_ = evaluator;
  }

  void add_clients(uint64_t first, uint64_t count) {
    for (uint64_t i = first; i < first + count; ++i)
      spawn_client(sys, test::synthetic_client(i), server, pool, logs.log());
  }

  /// Waits until the server ends (bounded, so a hang fails the test).
  caf::error run_to_end() {
    auto reason = test::await_end(sys, server);
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(evaluator_, caf::exit_reason::user_shutdown);
    return reason;
  }

  caf::actor evaluator_;
};

/// A client that joins and then never answers.
caf::behavior silent_client(caf::event_based_actor* self, caf::actor server,
                            std::string id) {
  self->send(server, deliver_atom::value,
             envelope{"", test::synthetic_join(id)});
  return {
    [self](deliver_atom, envelope& env) {
      if (std::holds_alternative<exit_msg>(env.body))
        self->quit();
    },
  };
}

/// A client that answers each activation correctly, then re-sends an
/// update for the previous round (a straggler's late update).
caf::behavior late_client(caf::event_based_actor* self, caf::actor server,
                          std::string id) {
  self->send(server, deliver_atom::value,
             envelope{"", test::synthetic_join(id)});
  return {
    [self, server, id](deliver_atom, envelope& env) {
      if (std::holds_alternative<exit_msg>(env.body)) {
        self->quit();
        return;
      }
      auto* act = std::get_if<activation_msg>(&env.body);
      if (!act)
        return;
      auto params = std::make_shared<std::vector<float>>(
        act->model.values.begin(), act->model.values.end());
      update_msg up;
      up.node_id = id;
      up.round = act->round;
      up.base_version = act->model_version;
      up.num_samples = 50;
      up.model.layout = act->model.layout;
      up.model.values = span<const float>{*params};
      up.model.owner = params;
      self->send(server, deliver_atom::value, envelope{"", up});
      if (act->round > 1) {
        up.round = act->round - 1;
        self->send(server, deliver_atom::value, envelope{"", up});
      }
    },
  };
}

} // namespace

TEST_CASE("a 3-round federation lowers the test loss", "[federation]") {
  federation f{3, 6, 4, 1.0, 60};
  f.add_clients(0, 6);
  CHECK(!f.run_to_end());
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 3);
  for (size_t i = 0; i < rs.size(); ++i) {
    CHECK(rs[i].round == i + 1);
    CHECK(rs[i].accepted);
    CHECK(rs[i].model_version == i + 1);
    CHECK(rs[i].clients_ok == 4);
    CHECK(rs[i].bytes_in == 4 * model_size * sizeof(float));
  }
  CHECK(rs[1].test_loss < rs[0].test_loss);
  CHECK(rs[2].test_loss < rs[1].test_loss);
}

TEST_CASE("a client that never answers fails by deadline, quorum carries the "
          "round",
          "[federation]") {
  // 3 sampled (all clients), quorum 0.6 -> 2 updates suffice.
  federation f{2, 3, 3, 0.6, 0.5};
  f.add_clients(0, 2);
  f.sys.spawn(silent_client, f.server, std::string{"client-silent"});
  CHECK(!f.run_to_end());
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 2);
  for (const auto& r : rs) {
    CHECK(r.accepted);
    CHECK(r.clients_ok == 2);
    CHECK(r.clients_failed == 1);
  }
  CHECK_THAT(f.logs.text(), Catch::Contains("deadline passed"));
}

TEST_CASE("without quorum the previous model stays", "[federation]") {
  federation f{1, 2, 2, 1.0, 0.3};
  f.add_clients(0, 1);
  f.sys.spawn(silent_client, f.server, std::string{"client-silent"});
  CHECK(!f.run_to_end());
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 1);
  CHECK(!rs[0].accepted);
  CHECK(rs[0].model_version == 0);
  CHECK_THAT(rs[0].outcome, Catch::Contains("quorum"));
}

TEST_CASE("a late update for an old round is dropped", "[federation]") {
  federation f{3, 1, 1, 1.0, 60};
  f.sys.spawn(late_client, f.server, std::string{"client-late"});
  CHECK(!f.run_to_end());
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 3);
  CHECK(rs[2].model_version == 3);
  for (const auto& r : rs)
    CHECK(r.clients_ok == 1);
  CHECK_THAT(f.logs.text(),
             Catch::Contains("dropped update from client-late for round 1")
               && Catch::Contains("late"));
}

TEST_CASE("two schedulers pre-aggregate their groups: one update each per "
          "round",
          "[federation][scheduler]") {
  // Prepare: the server waits for 2 members (the schedulers) and samples
  // both; each scheduler waits for its 3 clients and activates all of them.
  federation f{3, 2, 2, 1.0, 60};
  std::vector<caf::actor> scheds;
  for (int k = 0; k < 2; ++k) {
    scheduler_settings s;
    s.id = "sched-" + std::to_string(k);
    s.layout = test::synthetic_layout();
    s.min_clients = 3;
    s.clients_per_round = 3;
    scheds.push_back(spawn_scheduler(f.sys, s, f.server, f.logs.log()));
    for (uint64_t i = 0; i < 3; ++i)
      spawn_client(f.sys, test::synthetic_client(k * 3 + i), scheds.back(),
                   f.pool, f.logs.log());
  }
  // Execute
  CHECK(!f.run_to_end());
  // Assert: two updates per round reach the server, each standing for 150
  // samples, and the federation still learns.
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 3);
  for (const auto& r : rs) {
    CHECK(r.accepted);
    CHECK(r.clients_ok == 2);
    CHECK(r.bytes_in == 2 * model_size * sizeof(float));
  }
  CHECK(rs[2].test_loss < rs[0].test_loss);
  CHECK_THAT(f.logs.text(),
             Catch::Contains("pre-aggregated 3/3 updates (150 samples)"));
}
