// Same seed, same updates, same model bits: federations whose updates arrive
// in different orders must produce byte-identical global models after every
// round. Driven by CAF's deterministic test coordinator; the clients hold
// their updates until the test releases them in a chosen order.

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <optional>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "actors/async_server.hpp"
#include "actors/interfaces.hpp"
#include "actors/server.hpp"
#include "runtime/aggregation/fedavg.hpp"
#include "support/deterministic.hpp"
#include "support/synthetic_federation.hpp"

using namespace fl;

namespace {

using models = std::vector<std::vector<float>>;

/// Client `index` (40 + 7 index samples): for each model it gets it
/// computes an update of mixed magnitudes (where a float sum depends on its
/// order) and holds it until it receives (done_atom). Passive (sync), it
/// answers activations with parameters; active (FedBuff), it asks for a
/// model, answers with a delta and asks again once released. `holding`
/// counts the updates held by all clients.
caf::behavior held_client(caf::event_based_actor* self, caf::actor server,
                          uint64_t index, bool active,
                          std::shared_ptr<size_t> holding) {
  const auto id = "client-" + std::to_string(index);
  const uint64_t samples = 40 + 7 * index;
  auto join = test::synthetic_join(id);
  join.num_samples = samples;
  self->send(server, deliver_atom::value, envelope{"", join});
  if (active)
    self->send(server, deliver_atom::value, envelope{"", request_msg{id}});
  auto held = std::make_shared<std::optional<update_msg>>();
  auto hold = [=](const tensor& model, uint64_t version, uint64_t round) {
    auto xs = std::make_shared<std::vector<float>>(model.values.size());
    for (size_t j = 0; j < xs->size(); ++j) {
      const double scale = std::pow(10.0, static_cast<double>(j % 5) - 4);
      const double change = scale * std::sin(static_cast<double>(
                                      j * 31 + index * 17 + version * 7
                                      + round));
      (*xs)[j] = active ? static_cast<float>(change - 0.05 * model.values[j])
                        : model.values[j] + static_cast<float>(change);
    }
    update_msg up;
    up.node_id = id;
    up.round = round;
    up.base_version = version;
    up.num_samples = samples;
    up.model.layout = model.layout;
    up.model.kind = active ? tensor_kind::delta : tensor_kind::params;
    up.model.values = span<const float>{*xs};
    up.model.owner = xs;
    *held = std::move(up);
    ++*holding;
  };
  return {
    [=](deliver_atom, envelope& env) {
      if (std::holds_alternative<exit_msg>(env.body))
        self->quit();
      else if (auto* act = std::get_if<activation_msg>(&env.body))
        hold(act->model, act->model_version, act->round);
      else if (auto* m = std::get_if<model_msg>(&env.body))
        hold(m->model, m->model_version, 0);
    },
    [=](done_atom) {
      if (!*held)
        return;
      self->send(server, deliver_atom::value, envelope{"", **held});
      held->reset();
      --*holding;
      if (active)
        self->send(server, deliver_atom::value, envelope{"", request_msg{id}});
    },
  };
}

/// An evaluator that keeps a copy of every model it is asked to evaluate.
caf::behavior recording_evaluator(caf::event_based_actor*,
                                  std::shared_ptr<models> seen) {
  return {
    [seen](eval_input& in) {
      seen->emplace_back(in.model.values.begin(), in.model.values.end());
      return eval_output{1, 0.5, 0.5};
    },
  };
}

/// Runs `rounds` sync rounds of `clients` held clients; in round r the
/// updates arrive in the order orders[r % orders.size()]. Returns the
/// global model after each round.
models run_sync(size_t clients, uint64_t rounds,
                const std::vector<std::vector<size_t>>& orders) {
  test::deterministic_system d;
  auto seen = std::make_shared<models>();
  auto evaluator = d.sys.spawn(recording_evaluator, seen);
  server_settings s;
  s.rounds = rounds;
  s.min_clients = clients;
  s.exit_grace_s = 1;
  s.detached_aggregation = false;
  s.folder = std::shared_ptr<aggregator>{make_cpu_aggregator(1)};
  auto server = spawn_server(d.sys, s,
                             std::make_shared<fedavg>(clients, 1.0, 0),
                             test::synthetic_initial_model(
                               test::synthetic_model_size),
                             evaluator, d.logs.log());
  std::vector<caf::actor> cs;
  auto holding = std::make_shared<size_t>(0);
  for (size_t i = 0; i < clients; ++i)
    cs.push_back(d.sys.spawn(held_client, server, i, false, holding));
  d.run();
  for (uint64_t r = 0; r < rounds; ++r) {
    for (auto i : orders[r % orders.size()]) {
      caf::anon_send(cs[i], done_atom::value);
      d.run();
    }
  }
  d.expire_timers();
  caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
  d.run();
  return *seen;
}

/// A FedBuff run of `clients` held clients on a logical clock; whenever
/// clients hold deltas, they are released in an order drawn from
/// `order_seed`. Returns the models evaluated (every version).
models run_fedbuff(size_t clients, uint64_t order_seed) {
  test::deterministic_system d;
  auto seen = std::make_shared<models>();
  auto evaluator = d.sys.spawn(recording_evaluator, seen);
  async_server_settings s;
  s.mode = federation_mode::fedbuff;
  s.min_clients = clients;
  s.concurrency = 4;
  s.buffer_k = 3;
  s.max_updates = 18;
  s.eval_every = 1;
  s.exit_grace_s = 1;
  s.logical_clock = true;
  s.seed = 3;
  auto profiles = std::make_shared<client_profiles>(profile_settings{});
  profiles->set(1, 2.5, {}); // client-1 is a straggler
  s.profiles = profiles;
  s.detached_aggregation = false;
  s.folder = std::shared_ptr<aggregator>{make_cpu_aggregator(1)};
  auto server = spawn_async_server(d.sys, s,
                                   test::synthetic_initial_model(
                                     test::synthetic_model_size),
                                   evaluator, d.logs.log());
  auto holding = std::make_shared<size_t>(0);
  std::vector<caf::actor> cs;
  for (size_t i = 0; i < clients; ++i)
    cs.push_back(d.sys.spawn(held_client, server, i, true, holding));
  d.run();
  std::mt19937_64 rng{order_seed};
  for (int step = 0; step < 10000 && *holding > 0; ++step) {
    // Release a random one of the clients (those without a delta ignore
    // it), so deltas of different buffers overtake each other.
    caf::anon_send(cs[std::uniform_int_distribution<size_t>{
                     0, clients - 1}(rng)],
                   done_atom::value);
    d.run();
  }
  d.expire_timers();
  caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
  d.run();
  return *seen;
}

} // namespace

TEST_CASE("FedBuff on a logical clock gives byte-identical models whatever "
          "the arrival order",
          "[reproducible][async_server]") {
  const auto a = run_fedbuff(6, 1);
  const auto b = run_fedbuff(6, 2);
  const auto c = run_fedbuff(6, 3);
  REQUIRE(a.size() >= 6); // versions 1..6 (and the final record's)
  CHECK(a == b);
  CHECK(a == c);
  CHECK(a[0] != a[1]);
}

TEST_CASE("sync rounds give byte-identical models whatever the arrival "
          "order",
          "[reproducible][server]") {
  const auto a = run_sync(5, 4, {{0, 1, 2, 3, 4}});
  const auto b = run_sync(5, 4, {{4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}});
  const auto c = run_sync(5, 4, {{1, 3, 0, 4, 2}, {3, 4, 1, 0, 2}});
  REQUIRE(a.size() == 4);
  REQUIRE(b.size() == 4);
  REQUIRE(c.size() == 4);
  for (size_t r = 0; r < a.size(); ++r) {
    INFO("round " << r + 1);
    CHECK(a[r] == b[r]);
    CHECK(a[r] == c[r]);
  }
  CHECK(a[0] != a[1]); // the rounds did change the model
}
