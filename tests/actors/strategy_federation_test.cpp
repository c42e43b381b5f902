// One in-process federation per strategy family (server optimizer,
// SCAFFOLD, robust rule, compression, client-side evaluation), with the
// synthetic trainer: each must improve the model it starts from.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/client.hpp"
#include "actors/server.hpp"
#include "actors/training_pool.hpp"
#include "messages/system_config.hpp"
#include "runtime/aggregation/strategy_registry.hpp"
#include "support/log_capture.hpp"
#include "support/synthetic_federation.hpp"

using namespace fl;

namespace {

constexpr uint64_t model_size = test::synthetic_model_size;

/// A server with the named strategy and `clients` synthetic clients
/// (8 by default, 4 per round), each shaped by `edit`.
struct strategy_run {
  node_config cfg;
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  test::log_capture logs;
  std::shared_ptr<round_log> rounds = std::make_shared<round_log>();

  std::string client_metrics; ///< per-client JSONL file; "" = none

  std::vector<round_record>
  run(strategy_settings st, uint64_t num_rounds,
      std::function<void(client_settings&)> edit = {},
      guard_settings guard = {}, uint64_t clients = 8,
      std::function<void(caf::actor_system&, const caf::actor&)> extra = {}) {
    trainer_factory make = [] {
      return std::make_unique<synthetic_trainer>(model_size);
    };
    auto pool = spawn_training_pool(sys, 2, make, logs.log());
    auto evaluator = spawn_training_worker(sys, make(), logs.log());
    server_settings s;
    s.rounds = num_rounds;
    s.min_clients = clients + (extra ? 1 : 0);
    s.round_deadline_s = 60;
    s.exit_grace_s = 5;
    s.guard = guard;
    s.log_sink = rounds;
    s.resident_limit = st.clients_per_round;
    s.client_metrics_path = client_metrics;
    st.total_clients = clients;
    auto strat = make_strategy(st);
    REQUIRE(strat);
    auto server = spawn_server(sys, s, *strat,
                               test::synthetic_initial_model(model_size),
                               evaluator, logs.log());
    for (uint64_t i = 0; i < clients; ++i) {
      auto c = test::synthetic_client(i);
      if (edit)
        edit(c);
      spawn_client(sys, c, server, pool, logs.log());
    }
    if (extra) // a scripted peer beside the honest clients
      extra(sys, server);
    CHECK(!test::await_end(sys, server));
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
    return rounds->records();
  }
};

strategy_settings named(const std::string& name) {
  strategy_settings s;
  s.name = name;
  s.clients_per_round = 4;
  s.client_lr = 0.5;
  return s;
}

/// The test loss after the last round (compared with the first round's).
double final_loss(const std::vector<round_record>& rs) {
  REQUIRE(!rs.empty());
  return rs.back().test_loss;
}

} // namespace

TEST_CASE("FedAdam's server optimizer lowers the test loss", "[federation]") {
  strategy_run r;
  auto s = named("fedadam");
  s.server_lr = 0.1;
  auto rs = r.run(s, 6);
  REQUIRE(rs.size() == 6);
  for (const auto& x : rs)
    CHECK(x.accepted);
  CHECK(final_loss(rs) < rs.front().test_loss);
}

TEST_CASE("SCAFFOLD lowers the test loss with corrections on the wire",
          "[federation][scaffold]") {
  strategy_run r;
  auto rs = r.run(named("scaffold"), 5);
  REQUIRE(rs.size() == 5);
  CHECK(final_loss(rs) < rs.front().test_loss);
  // Each activation carries the model and a correction of the same size.
  CHECK(rs.back().bytes_out == 4 * 2 * model_size * sizeof(float));
}

TEST_CASE("with two huge attackers of eight, FedAvg collapses and the median "
          "still converges",
          "[federation][robust]") {
  auto attack = [](client_settings& c) {
    if (c.id == "client-0" || c.id == "client-1")
      c.attack = byzantine_settings{"huge", 50, 1};
  };
  guard_settings off;
  off.max_change_ratio = 0; // the rules alone, without the guard's bound
  strategy_run a;
  auto plain = named("fedavg");
  plain.clients_per_round = 8;
  auto avg = a.run(plain, 3, attack, off);
  strategy_run b;
  auto med = named("median");
  med.clients_per_round = 8;
  auto robust = b.run(med, 3, attack, off);
  REQUIRE(avg.size() == 3);
  REQUIRE(robust.size() == 3);
  CHECK(final_loss(avg) > 10 * final_loss(robust));
  CHECK(final_loss(robust) < robust.front().test_loss);
  CHECK(final_loss(robust) < 0.05);
}

TEST_CASE("top-k compressed uploads cut the bytes and still converge",
          "[federation][compression]") {
  strategy_run dense_run;
  auto dense = dense_run.run(named("fedavg"), 4);
  strategy_run sparse_run;
  auto sparse = sparse_run.run(named("fedavg"), 4, [](client_settings& c) {
    c.compression.method = "topk";
    c.compression.topk_ratio = 0.1;
  });
  REQUIRE(sparse.size() == 4);
  // 10% of the values at 8 bytes each (index + value): 20% of dense.
  CHECK(sparse.back().bytes_in * 4 < dense.back().bytes_in);
  CHECK(final_loss(sparse) < sparse.front().test_loss);
}

TEST_CASE("client-side evaluation is aggregated into the round's record",
          "[federation]") {
  strategy_run r;
  auto s = named("fedavg");
  s.client_eval_every = 2;
  s.client_eval_clients = 3;
  auto rs = r.run(s, 4, [](client_settings& c) {
    auto held = std::make_shared<std::vector<int64_t>>();
    held->push_back(c.samples->front());
    c.holdout = held;
  });
  REQUIRE(rs.size() == 4);
  CHECK(rs[0].clients_evaluated == 0);
  CHECK(rs[1].clients_evaluated == 3);
  CHECK(rs[3].clients_evaluated == 3);
  CHECK(rs[1].client_eval_loss >= 0);
  CHECK(rs[3].client_eval_accuracy > rs[1].client_eval_accuracy);
}

namespace {

/// A client that trains honestly (sends the model back) but, asked to
/// evaluate, claims 2^62 samples at accuracy 0.
caf::behavior lying_evaluator(caf::event_based_actor* self, caf::actor server,
                              std::string id) {
  self->send(server, deliver_atom::value,
             envelope{"", test::synthetic_join(id)});
  return {
    [self, server, id](deliver_atom, envelope& env) {
      if (std::holds_alternative<exit_msg>(env.body)) {
        self->quit();
      } else if (auto* act = std::get_if<activation_msg>(&env.body)) {
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
      } else if (auto* ev = std::get_if<evaluate_msg>(&env.body)) {
        self->send(server, deliver_atom::value,
                   envelope{"", eval_result_msg{id, ev->round,
                                                uint64_t{1} << 62, 1e6, 0.0}});
      }
    },
  };
}

} // namespace

TEST_CASE("a client claiming huge evaluation samples weighs no more than it "
          "announced",
          "[federation]") {
  strategy_run r;
  auto s = named("fedavg");
  s.clients_per_round = 4;
  s.client_eval_every = 1;
  s.client_eval_clients = 4;
  // Three honest clients with 10 held-out samples each (+ the liar, which
  // announced 50 at join): the liar weighs 50 of 80, not 2^62 of 2^62 + 30.
  auto rs = r.run(
    s, 2,
    [](client_settings& c) {
      auto held = std::make_shared<std::vector<int64_t>>(
        c.samples->begin(), c.samples->begin() + 10);
      c.holdout = held;
    },
    {}, 3,
    [](caf::actor_system& sys, const caf::actor& server) {
      sys.spawn(lying_evaluator, server, std::string{"liar"});
    });
  REQUIRE(rs.size() == 2);
  REQUIRE(rs[1].clients_evaluated == 4);
  CHECK(rs[1].client_eval_accuracy > 0.3);
}

TEST_CASE("clients without held-out data answer Evaluate with an error; "
          "training goes on",
          "[federation]") {
  strategy_run r;
  auto s = named("fedavg");
  s.client_eval_every = 1;
  auto rs = r.run(s, 2);
  REQUIRE(rs.size() == 2);
  CHECK(rs[0].accepted);
  CHECK(rs[1].accepted);
  CHECK(rs[0].clients_evaluated == 0);
}

TEST_CASE("a trainer's own metrics travel with the update into the "
          "per-client records",
          "[federation]") {
  strategy_run r;
  const auto path = std::filesystem::temp_directory_path()
                    / ("fl-extra-" + std::to_string(::getpid()) + ".jsonl");
  r.client_metrics = path.string();
  auto rs = r.run(named("fedavg"), 1);
  REQUIRE(rs.size() == 1);
  std::ifstream in{path};
  std::string line;
  size_t with_extra = 0;
  while (std::getline(in, line))
    if (line.find("\"extra.target\":") != std::string::npos)
      ++with_extra;
  CHECK(with_extra == 4); // one record per sampled client
  std::filesystem::remove(path);
}
