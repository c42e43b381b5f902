// The asynchronous server in one process with the synthetic trainer, plus
// scripted clients that lie about versions, stall or die.

#include <catch2/catch.hpp>

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/async_server.hpp"
#include "actors/client.hpp"
#include "actors/interfaces.hpp"
#include "actors/relay.hpp"
#include "runtime/core/errors.hpp"
#include "actors/training_pool.hpp"
#include "messages/system_config.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/training/synthetic_trainer.hpp"
#include "support/log_capture.hpp"
#include "support/synthetic_federation.hpp"

using namespace fl;

namespace {

constexpr uint64_t model_size = test::synthetic_model_size;

struct async_federation {
  node_config cfg;
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  test::log_capture logs;
  std::shared_ptr<async_log> records = std::make_shared<async_log>();
  caf::actor pool;
  caf::actor evaluator;
  caf::actor server;

  explicit async_federation(async_server_settings s) {
    trainer_factory make = [] {
      return std::make_unique<synthetic_trainer>(model_size);
    };
    pool = spawn_training_pool(sys, 2, make, logs.log());
    evaluator = spawn_training_worker(sys, make(), logs.log());
    auto initial = test::synthetic_initial_model(model_size);
    s.log_sink = records;
    s.exit_grace_s = 5;
    server = spawn_async_server(sys, s, std::move(initial), evaluator,
                                logs.log());
  }

  void add_clients(uint64_t count) {
    for (uint64_t i = 0; i < count; ++i)
      spawn_client(sys, test::synthetic_client(i), server, pool, logs.log());
  }

  caf::error run_to_end() {
    auto reason = test::await_end(sys, server);
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
    return reason;
  }
};

/// Test loss of the initial model (the same seed the fixture uses).
double initial_loss() {
  synthetic_trainer t{model_size};
  auto p = t.initial_params(0);
  return t.evaluate(span<const float>{p})->loss;
}

async_server_settings settings(const std::string& mode, uint64_t clients,
                               uint64_t max_updates) {
  async_server_settings s;
  s.mode = *parse_federation_mode(mode);
  s.min_clients = clients;
  s.concurrency = 2;
  s.max_updates = max_updates;
  s.eval_every = 5;
  s.buffer_k = 4;
  s.alpha = 0.5;
  return s;
}

void join(caf::event_based_actor* self, const caf::actor& server,
          const std::string& id) {
  self->send(server, deliver_atom::value,
             envelope{"", test::synthetic_join(id)});
}

/// Answers each model with an update that claims base version
/// `model_version + skew` (skew > 0: from the future) or, from the second
/// model on, the first version it ever saw (stale).
caf::behavior lying_client(caf::event_based_actor* self, caf::actor server,
                           std::string id, int64_t skew) {
  join(self, server, id);
  auto first_seen = std::make_shared<int64_t>(-1);
  return {
    [=](deliver_atom, envelope& env) {
      auto& body = env.body;
      if (std::holds_alternative<exit_msg>(body)) {
        self->quit();
      } else if (std::holds_alternative<welcome_msg>(body)) {
        self->send(server, deliver_atom::value,
                   envelope{"", request_msg{id}});
      } else if (auto* m = std::get_if<model_msg>(&body)) {
        if (*first_seen < 0)
          *first_seen = static_cast<int64_t>(m->model_version);
        auto params = std::make_shared<std::vector<float>>(
          m->model.values.begin(), m->model.values.end());
        update_msg up;
        up.node_id = id;
        up.base_version = skew > 0 ? m->model_version + skew
                                   : static_cast<uint64_t>(*first_seen);
        up.num_samples = 50;
        up.model.layout = m->model.layout;
        up.model.values = span<const float>{*params};
        up.model.owner = params;
        self->send(server, deliver_atom::value, envelope{"", up});
        self->send(server, deliver_atom::value,
                   envelope{"", request_msg{id}});
      }
    },
  };
}

/// Takes a model and then dies (or, with `die` false, never answers).
caf::behavior vanishing_client(caf::event_based_actor* self,
                               caf::actor server, std::string id, bool die) {
  join(self, server, id);
  return {
    [=](deliver_atom, envelope& env) {
      if (std::holds_alternative<welcome_msg>(env.body))
        self->send(server, deliver_atom::value,
                   envelope{"", request_msg{id}});
      else if (std::holds_alternative<model_msg>(env.body) && die)
        self->quit(caf::exit_reason::user_shutdown);
      else if (std::holds_alternative<exit_msg>(env.body))
        self->quit();
    },
  };
}

} // namespace

TEST_CASE("a FedAsync federation in one process lowers the test loss",
          "[async][federation]") {
  async_federation f{settings("async", 4, 40)};
  f.add_clients(4);
  CHECK(!f.run_to_end());
  auto rs = f.records->records();
  REQUIRE(rs.size() >= 2);
  CHECK(rs.back().updates_applied == 40);
  CHECK(rs.back().model_version == 40);
  CHECK(rs.back().test_loss < initial_loss() / 10);
}

TEST_CASE("FedBuff bumps the version once per K updates",
          "[async][federation]") {
  async_federation f{settings("fedbuff", 4, 40)};
  f.add_clients(4);
  CHECK(!f.run_to_end());
  auto rs = f.records->records();
  REQUIRE(!rs.empty());
  CHECK(rs.back().updates_applied == 40);
  CHECK(rs.back().model_version == 10); // 40 / K with K = 4
  CHECK(rs.back().test_loss < initial_loss() / 10);
}

TEST_CASE("an update from the future is rejected", "[async]") {
  auto s = settings("async", 2, 10);
  async_federation f{s};
  f.add_clients(1);
  f.sys.spawn(lying_client, f.server, std::string{"liar"}, int64_t{5});
  CHECK(!f.run_to_end());
  CHECK(f.records->records().back().updates_dropped > 0);
  CHECK_THAT(f.logs.text(), Catch::Contains("dropped update from liar")
                              && Catch::Contains("version_from_future"));
}

TEST_CASE("an update staler than the bound is dropped", "[async]") {
  auto s = settings("async", 2, 10);
  s.max_staleness = 0;
  async_federation f{s};
  f.add_clients(1);
  f.sys.spawn(lying_client, f.server, std::string{"stale"}, int64_t{0});
  CHECK(!f.run_to_end());
  CHECK(f.records->records().back().updates_dropped > 0);
  CHECK_THAT(f.logs.text(), Catch::Contains("dropped update from stale")
                              && Catch::Contains("too_stale"));
}

TEST_CASE("clients that die or stall do not stall the server", "[async]") {
  auto s = settings("async", 4, 30);
  s.update_deadline_s = 0.3;
  async_federation f{s};
  f.add_clients(2);
  f.sys.spawn(vanishing_client, f.server, std::string{"dies"}, true);
  f.sys.spawn(vanishing_client, f.server, std::string{"stalls"}, false);
  CHECK(!f.run_to_end());
  CHECK(f.records->records().back().updates_applied == 30);
  CHECK_THAT(f.logs.text(), Catch::Contains("lost dies"));
}

TEST_CASE("in async mode schedulers relay their members to the server",
          "[async][scheduler]") {
  // Prepare: 2 relaying schedulers with 3 clients each; the server waits for
  // all 6 clients, which it sees one by one through the schedulers.
  async_federation f{settings("fedbuff", 6, 24)};
  for (int k = 0; k < 2; ++k) {
    auto sched = spawn_relay(f.sys, relay_settings{"relay-" + std::to_string(k), 5},
                             f.server, f.logs.log());
    for (uint64_t i = 0; i < 3; ++i)
      spawn_client(f.sys, test::synthetic_client(k * 3 + i), sched, f.pool,
                   f.logs.log());
  }
  // Execute
  CHECK(!f.run_to_end());
  // Assert
  auto rs = f.records->records();
  REQUIRE(!rs.empty());
  CHECK(rs.back().updates_applied == 24);
  CHECK(rs.back().model_version == 6); // 24 / K with K = 4
  CHECK_THAT(f.logs.text(), Catch::Contains("6 clients joined"));
}

TEST_CASE("a diverging FedBuff run stops with an error instead of stalling",
          "[async][guard]") {
  // A server learning rate of 1000 throws every step far beyond the change
  // bound: each candidate is rejected, and the third in a row ends the run.
  auto s = settings("fedbuff", 4, 400);
  s.server_lr = 1000;
  s.guard.max_rejections = 3;
  async_federation f{s};
  f.add_clients(4);
  auto reason = f.run_to_end();
  CHECK(reason.code() == static_cast<uint8_t>(errc::rejected_model));
  auto rs = f.records->records();
  REQUIRE(!rs.empty());
  CHECK(rs.back().model_version == 0);
  // Steps already on their way when the run stops are rejected too.
  CHECK(rs.back().models_rejected >= 3);
  CHECK_THAT(f.logs.text(), Catch::Contains("3 candidate models in a row"));
}
