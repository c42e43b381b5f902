// The host of virtual clients: a client is a record until it has a task,
// keeps its state between tasks, drops out when it goes offline, and is
// never sampled while offline.

#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/client.hpp"
#include "actors/interfaces.hpp"
#include "actors/server.hpp"
#include "actors/training_pool.hpp"
#include "actors/virtual_clients.hpp"
#include "messages/system_config.hpp"
#include "runtime/aggregation/fedavg.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/training/synthetic_trainer.hpp"
#include "support/deterministic.hpp"
#include "support/synthetic_federation.hpp"
#include "support/temp_files.hpp"

using namespace fl;

namespace {

constexpr uint64_t model_size = test::synthetic_model_size;

/// Settings for a host of the synthetic clients [first, first + count).
virtual_clients_settings synthetic_host(uint64_t first, uint64_t count,
                                        compression_settings comp = {}) {
  virtual_clients_settings s;
  s.first = first;
  s.count = count;
  s.layout = test::synthetic_layout();
  s.num_samples = [](uint64_t) { return uint64_t{50}; };
  s.settings = [comp](uint64_t i) {
    auto c = test::synthetic_client(i);
    c.compression = comp;
    return c;
  };
  s.join_batch = 64;
  return s;
}

/// Everything the host sent upstream.
using inbox = std::shared_ptr<std::vector<message>>;

caf::behavior recording_upstream(caf::event_based_actor*, inbox got) {
  return {[got](deliver_atom, envelope& env) {
    got->push_back(std::move(env.body));
  }};
}

/// A pool that trains in its own mailbox (fine for the deterministic
/// coordinator: the synthetic trainer is quick).
caf::behavior inline_pool(caf::event_based_actor*) {
  auto t = std::make_shared<synthetic_trainer>(model_size);
  return {[t](fit_input& in) -> caf::expected<fit_output> {
    auto out = t->fit(in);
    if (out && in.finish)
      if (auto err = in.finish(in, *out))
        return err;
    return out;
  }};
}

template <class T>
size_t count_of(const inbox& got) {
  return static_cast<size_t>(
    std::count_if(got->begin(), got->end(), [](const message& m) {
      return std::holds_alternative<T>(m);
    }));
}

struct host_fixture : test::deterministic_system {
  inbox got = std::make_shared<std::vector<message>>();
  caf::actor upstream = sys.spawn(recording_upstream, got);
  caf::actor pool = sys.spawn(inline_pool);
  std::shared_ptr<virtual_clients_stats> stats
    = std::make_shared<virtual_clients_stats>();
  caf::actor host;
  std::optional<caf::error> host_exit;

  explicit host_fixture(virtual_clients_settings s) {
    host = spawn_virtual_clients(sys, std::move(s), upstream, pool,
                                 logs.log(), stats);
    host->attach_functor(
      [this](const caf::error& reason) { host_exit = reason; });
  }

  /// Sends `body` to the clients `ids` as upstream would.
  void from_upstream(std::vector<std::string> ids, message body) {
    envelope env{ids.front(), std::move(body)};
    env.more_targets.assign(ids.begin() + 1, ids.end());
    caf::send_as(upstream, host, deliver_atom::value, std::move(env));
  }

  void welcome_all(uint64_t first, uint64_t count) {
    std::vector<std::string> ids;
    for (uint64_t i = first; i < first + count; ++i)
      ids.push_back(client_id(i));
    from_upstream(ids, welcome_msg{"", "server", 0, 0, federation_mode::sync});
    run();
  }

  activation_msg activation(uint64_t round) {
    const auto initial = test::synthetic_initial_model(model_size);
    auto model = std::make_shared<std::vector<float>>(
      initial.values().begin(), initial.values().end());
    activation_msg a;
    a.round = round;
    a.model.layout = test::synthetic_layout();
    a.model.kind = tensor_kind::params;
    a.model.values = span<const float>{*model};
    a.model.owner = model;
    return a;
  }
};

} // namespace

TEST_CASE("virtual clients join in batches and become actors only for a "
          "task", "[virtual_clients]") {
  host_fixture f{synthetic_host(100, 1000)};
  f.run();
  // All 1000 joined (in steps of 64), none is an actor yet.
  REQUIRE(count_of<join_msg>(f.got) == 1000);
  CHECK(std::get<join_msg>(f.got->front()).node_id == "client-100");
  CHECK(std::get<join_msg>(f.got->back()).node_id == "client-1099");
  f.welcome_all(100, 1000);
  CHECK(f.stats->spawned == 0);
  // Round 1 samples 3 clients: 3 actors, 3 updates, no actor left after.
  f.from_upstream({"client-103", "client-500", "client-1099"},
                  f.activation(1));
  f.run();
  CHECK(count_of<update_msg>(f.got) == 3);
  CHECK(f.stats->spawned == 3);
  CHECK(f.stats->live_peak == 3);
  // Round 2 samples one of them again: a fresh actor for the new task.
  f.from_upstream({"client-500"}, f.activation(2));
  f.run();
  CHECK(count_of<update_msg>(f.got) == 4);
  CHECK(f.stats->spawned == 4);
  // A message for a client it does not host is ignored.
  f.from_upstream({"client-7"}, f.activation(2));
  f.run();
  CHECK(count_of<update_msg>(f.got) == 4);
  // Exit to everyone ends the host normally.
  std::vector<std::string> all;
  for (uint64_t i = 100; i < 1100; ++i)
    all.push_back(client_id(i));
  f.from_upstream(all, exit_msg{"done"});
  f.run();
  REQUIRE(f.host_exit);
  CHECK(!*f.host_exit);
}

TEST_CASE("a virtual client that goes offline before its update is sent "
          "drops out", "[virtual_clients]") {
  auto clock = std::make_shared<double>(5);
  auto profiles = std::make_shared<client_profiles>(profile_settings{});
  profiles->set(1, 1, {{0, 10}}); // client-1: online for 10 s
  profiles->set_clock([clock] { return *clock; });
  auto s = synthetic_host(0, 3);
  s.profiles = profiles;
  host_fixture f{s};
  f.run();
  f.welcome_all(0, 3);
  // Online at 5 s: its update goes through.
  f.from_upstream({"client-1"}, f.activation(1));
  f.run();
  REQUIRE(count_of<update_msg>(f.got) == 1);
  // The host takes the task at 5 s; the client finishes after 10 s.
  f.from_upstream({"client-1", "client-2"}, f.activation(2));
  REQUIRE(f.sched.try_run_once()); // the host hands out both tasks
  *clock = 20;
  f.run();
  // client-2 (always online) answered; client-1's update became an Error
  // naming it, so the round counts it as failed at once.
  CHECK(count_of<update_msg>(f.got) == 2);
  REQUIRE(count_of<error_msg>(f.got) == 1);
  const auto& e = std::get<error_msg>(*std::find_if(
    f.got->begin(), f.got->end(), [](const message& m) {
      return std::holds_alternative<error_msg>(m);
    }));
  CHECK(e.node_id == "client-1");
  CHECK(e.round == 2);
  CHECK(e.code == static_cast<uint16_t>(errc::peer_lost));
  CHECK_THAT(e.message, Catch::Contains("went offline"));
  CHECK(f.stats->dropped == 1);
  // Sampled while offline (at 20 s): refused at once, nothing trains.
  const auto spawned = f.stats->spawned;
  f.from_upstream({"client-1"}, f.activation(3));
  f.run();
  CHECK(f.stats->spawned == spawned);
  REQUIRE(count_of<error_msg>(f.got) == 2);
  const auto& last = std::get<error_msg>(f.got->back());
  CHECK(last.node_id == "client-1");
  CHECK(last.round == 3);
  CHECK_THAT(last.message, Catch::Contains("is offline"));
  CHECK(f.stats->dropped == 2);
}

TEST_CASE("an async virtual client asks for a model only while online",
          "[virtual_clients]") {
  auto clock = std::make_shared<double>(0);
  auto profiles = std::make_shared<client_profiles>(profile_settings{});
  profiles->set(0, 1, {{50, 60}});   // online from 50 s
  profiles->set(1, 1, {{0, 1e9}});   // online now
  profiles->set(2, 1, {{1e9, 2e9}}); // not in this test's lifetime
  profiles->set_clock([clock] { return *clock; });
  auto s = synthetic_host(0, 3);
  s.profiles = profiles;
  host_fixture f{s};
  f.run();
  std::vector<std::string> ids{"client-0", "client-1", "client-2"};
  f.from_upstream(ids, welcome_msg{"", "server", 0, 0,
                                   federation_mode::async});
  f.run();
  REQUIRE(count_of<request_msg>(f.got) == 1);
  CHECK(std::get<request_msg>(f.got->back()).node_id == "client-1");
  // At 50 s client-0's window opens: its wake-up fires and it asks.
  *clock = 50;
  f.expire_timers();
  REQUIRE(count_of<request_msg>(f.got) == 2);
  CHECK(std::get<request_msg>(f.got->back()).node_id == "client-0");
  // client-2 still waits; Exit ends the host (and its wake-ups).
  f.from_upstream(ids, exit_msg{"done"});
  f.run();
  REQUIRE(f.host_exit);
}

namespace {

/// A real federation (threads) of `n` synthetic clients, `k` sampled per
/// round, with the given clients as a virtual host or as one actor each.
struct threaded_federation {
  node_config cfg;
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  test::log_capture logs;
  std::shared_ptr<round_log> rounds = std::make_shared<round_log>();
  caf::actor pool;
  caf::actor evaluator;
  caf::actor server;

  threaded_federation(uint64_t n, uint64_t k, uint64_t num_rounds,
                      std::shared_ptr<const client_profiles> profiles,
                      const std::string& client_metrics = "") {
    trainer_factory make = [] {
      return std::make_unique<synthetic_trainer>(model_size);
    };
    pool = spawn_training_pool(sys, 2, make, logs.log());
    evaluator = spawn_training_worker(sys, make(), logs.log());
    server_settings s;
    s.rounds = num_rounds;
    s.min_clients = n;
    s.round_deadline_s = 60;
    s.exit_grace_s = 5;
    s.log_sink = rounds;
    s.profiles = std::move(profiles);
    s.client_metrics_path = client_metrics;
    server = spawn_server(sys, s, std::make_shared<fedavg>(k, 1.0, 0),
                          test::synthetic_initial_model(model_size),
                          evaluator, logs.log());
  }

  std::vector<double> run_to_end() {
    REQUIRE(!test::await_end(sys, server));
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
    std::vector<double> losses;
    for (const auto& r : rounds->records())
      losses.push_back(r.test_loss);
    return losses;
  }
};

} // namespace

TEST_CASE("virtual clients keep their state across rounds, as long-lived "
          "client actors do", "[virtual_clients]") {
  // Top-k with error feedback: each client's residual carries what it did
  // not send into its next update, so a client that forgot its state
  // between rounds would change the model.
  compression_settings topk;
  topk.method = "topk";
  topk.topk_ratio = 0.05;
  topk.error_feedback = true;
  const uint64_t n = 6, k = 3, num_rounds = 8;
  std::vector<double> with_actors, with_host;
  {
    threaded_federation f{n, k, num_rounds, nullptr};
    for (uint64_t i = 0; i < n; ++i) {
      auto c = test::synthetic_client(i);
      c.compression = topk;
      spawn_client(f.sys, c, f.server, f.pool, f.logs.log());
    }
    with_actors = f.run_to_end();
  }
  {
    threaded_federation f{n, k, num_rounds, nullptr};
    spawn_virtual_clients(f.sys, synthetic_host(0, n, topk), f.server, f.pool,
                          f.logs.log());
    with_host = f.run_to_end();
  }
  REQUIRE(with_actors.size() == num_rounds);
  CHECK(with_host == with_actors); // bit for bit
}

TEST_CASE("offline clients are never sampled", "[virtual_clients]") {
  // Clients 0-4 are offline for the whole run, 5-9 always online.
  auto profiles = std::make_shared<client_profiles>(profile_settings{});
  for (uint64_t i = 0; i < 5; ++i)
    profiles->set(i, 1, {{1e9, 2e9}});
  test::temp_dir dir;
  const auto metrics = dir.path("clients.jsonl");
  threaded_federation f{10, 3, 6, profiles, metrics};
  spawn_virtual_clients(f.sys, synthetic_host(0, 10), f.server, f.pool,
                        f.logs.log());
  auto losses = f.run_to_end();
  REQUIRE(losses.size() == 6);
  std::ifstream in{metrics};
  std::string line;
  std::set<std::string> trained;
  while (std::getline(in, line)) {
    auto at = line.find("\"client\":\"");
    if (at != std::string::npos)
      trained.insert(line.substr(at + 10, line.find('"', at + 10) - at - 10));
  }
  // 6 rounds of 3 from 5 online clients: every one of them, no other.
  CHECK(trained == std::set<std::string>{"client-5", "client-6", "client-7",
                                         "client-8", "client-9"});
}
