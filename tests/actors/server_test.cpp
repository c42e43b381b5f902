// The sync server's round FSM against scripted (honest and hostile) clients,
// driven by CAF's deterministic test coordinator: no wall-clock waits, and
// deadlines fire only when a test expires the timers.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>

#include <caf/event_based_actor.hpp>

#include "actors/client.hpp"
#include "actors/interfaces.hpp"
#include "actors/server.hpp"
#include "runtime/aggregation/fedavg.hpp"
#include "runtime/core/errors.hpp"
#include "support/deterministic.hpp"
#include "support/lagging_evaluator.hpp"
#include "support/scripted_client.hpp"
#include "support/synthetic_federation.hpp"

using namespace fl;

namespace {

struct fixture : test::deterministic_system {
  std::shared_ptr<round_log> rounds = std::make_shared<round_log>();
  test::error_log errors
    = std::make_shared<std::vector<error_msg>>();
  caf::actor server;
  std::optional<caf::error> server_exit;

  /// With `lagging_evaluator`, evaluations are answered only on
  /// (done_atom) to `evaluator`.
  caf::actor evaluator;

  /// The most evaluations the lagging evaluator held at once.
  std::shared_ptr<size_t> max_held = std::make_shared<size_t>(0);

  fixture(uint64_t num_rounds, std::vector<test::conduct> clients,
          guard_settings g = {}, double quorum = 0.5,
          bool lagging_evaluator = false,
          std::shared_ptr<aggregator> backend = nullptr,
          std::function<void(server_settings&)> tweak = {},
          std::function<caf::actor(caf::actor_system&)> make_evaluator = {}) {
    if (make_evaluator)
      evaluator = make_evaluator(sys);
    if (lagging_evaluator)
      evaluator = test::spawn_lagging_evaluator(sys, max_held);
    server_settings s;
    s.rounds = num_rounds;
    s.min_clients = clients.size();
    s.round_deadline_s = 30;
    s.exit_grace_s = 1;
    s.log_sink = rounds;
    s.guard = g;
    s.detached_aggregation = false;
    s.folder = backend ? std::move(backend)
                       : std::shared_ptr<aggregator>{make_cpu_aggregator(1)};
    if (tweak)
      tweak(s);
    server = spawn_server(sys, s,
                          std::make_shared<fedavg>(clients.size(), quorum, 0),
                          test::synthetic_initial_model(
                            test::synthetic_model_size),
                          evaluator, logs.log());
    server->attach_functor(
      [this](const caf::error& reason) { server_exit = reason; });
    test::spawn_scripted_clients(sys, server, clients, errors);
  }
};

/// A backend that folds correctly and then produces non-finite means, as a
/// faulty accelerator would.
struct faulty_backend : aggregator {
  std::unique_ptr<aggregator> inner = make_cpu_aggregator(1);
  std::string name() const override { return "faulty"; }
  caf::error begin(const model_layout& l) override { return inner->begin(l); }
  caf::error fold(span<const float> x, double w) override {
    return inner->fold(x, w);
  }
  caf::error finalize(span<float> out) override {
    if (auto err = inner->finalize(out))
      return err;
    out[0] = std::numeric_limits<float>::infinity();
    return caf::none;
  }
  caf::error mix(span<float> g, span<const float> x, double a) override {
    return inner->mix(g, x, a);
  }
};

} // namespace

TEST_CASE("an update of 3e38 values is refused; the honest ones make the "
          "round",
          "[server][guard]") {
  fixture f{2, {test::conduct::honest, test::conduct::honest, test::conduct::huge_values}};
  f.run();
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 2);
  for (const auto& r : rs) {
    CHECK(r.accepted);
    CHECK(r.clients_ok == 2);
    CHECK(r.clients_failed == 1);
  }
  CHECK(rs[1].model_version == 2);
  CHECK_THAT(f.logs.text(), Catch::Contains("update from client-2 refused")
                              && Catch::Contains("rejected_update"));
  REQUIRE(f.server_exit);
  CHECK(!*f.server_exit);
}

TEST_CASE("an update claiming 2^62 samples is refused", "[server][guard]") {
  fixture f{1, {test::conduct::honest, test::conduct::honest, test::conduct::huge_samples}};
  f.run();
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].accepted);
  CHECK(rs[0].clients_ok == 2);
  CHECK(rs[0].clients_failed == 1);
  CHECK_THAT(f.logs.text(), Catch::Contains("claims 4611686018427387904 "
                                            "samples; at most 50 allowed"));
}

TEST_CASE("rejected models in a row stop the run with an error",
          "[server][guard]") {
  // Honest updates, but a backend whose means are non-finite: every
  // candidate is rejected.
  guard_settings g;
  g.max_rejections = 3;
  fixture f{10, {test::conduct::honest, test::conduct::honest, test::conduct::honest}, g,
            0.5, false, std::make_shared<faulty_backend>()};
  f.run();
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 3);
  for (const auto& r : rs) {
    CHECK_FALSE(r.accepted);
    CHECK(r.rejected);
    CHECK(r.model_version == 0);
    CHECK_THAT(r.outcome, Catch::Contains("non-finite"));
  }
  REQUIRE(f.server_exit);
  CHECK(f.server_exit->code() == static_cast<uint8_t>(errc::rejected_model));
  CHECK_THAT(f.logs.text(), Catch::Contains("3 candidate models in a row"));
}

TEST_CASE("a training failure counts at once, without waiting for the "
          "deadline",
          "[server][failures]") {
  fixture f{1, {test::conduct::honest, test::conduct::honest, test::conduct::fails}};
  f.run(); // no timer is expired: only the report can close the round
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].accepted);
  CHECK(rs[0].clients_failed == 1);
  CHECK_THAT(f.logs.text(), Catch::Contains("client-2 failed")
                              && Catch::Contains("out of memory"));
}

TEST_CASE("a silent client fails at the deadline", "[server][failures]") {
  fixture f{1, {test::conduct::honest, test::conduct::silent}};
  f.run();
  CHECK(f.rounds->records().empty()); // waiting for client-1
  f.expire_timers();
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].accepted); // quorum 0.5
  CHECK(rs[0].clients_failed == 1);
  CHECK_THAT(f.logs.text(), Catch::Contains("deadline passed"));
}

TEST_CASE("a join with another model is refused and the client ends with "
          "the reason",
          "[server][failures]") {
  fixture f{1, {test::conduct::honest}};
  // A scripted joiner with a model of another size gets an Error...
  caf::actor probe = f.sys.spawn([&](caf::event_based_actor* self) {
    self->send(f.server, deliver_atom::value,
               envelope{"", test::synthetic_join("other", 2000)});
    return caf::behavior{[&](deliver_atom, envelope& env) {
      if (auto* e = std::get_if<error_msg>(&env.body))
        f.errors->push_back(*e);
    }};
  });
  // ... and a real client actor quits with it.
  auto settings = test::synthetic_client(7);
  settings.layout = test::synthetic_layout(2000);
  std::optional<caf::error> client_exit;
  auto client = spawn_client(f.sys, settings, f.server, caf::actor{},
                             f.logs.log());
  client->attach_functor(
    [&](const caf::error& reason) { client_exit = reason; });
  f.run();
  REQUIRE(!f.errors->empty());
  CHECK(f.errors->front().code
        == static_cast<uint16_t>(errc::layout_mismatch));
  CHECK_THAT(f.errors->front().message, Catch::Contains("does not match"));
  REQUIRE(client_exit);
  CHECK(client_exit->code() == static_cast<uint8_t>(errc::layout_mismatch));
  caf::anon_send_exit(probe, caf::exit_reason::user_shutdown);
  f.run();
}

TEST_CASE("records reach the metrics in round order while evaluations lag",
          "[server]") {
  // The evaluator answers only when told: round 1's evaluation is still
  // out when round 2 (below quorum, not evaluated) ends.
  fixture f{2, {test::conduct::honest, test::conduct::fails_later}, {}, 1.0,
            true};
  f.run();
  CHECK(f.rounds->records().empty()); // round 2's record waits for round 1
  caf::anon_send(f.evaluator, done_atom::value);
  f.run();
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 2);
  CHECK(rs[0].round == 1);
  CHECK(rs[0].test_accuracy == 0.5);
  CHECK(rs[1].round == 2);
  CHECK_FALSE(rs[1].accepted);
  caf::anon_send_exit(f.evaluator, caf::exit_reason::user_shutdown);
  f.run();
}

namespace {

std::vector<test::conduct> honest(size_t n) {
  return std::vector<test::conduct>(n, test::conduct::honest);
}

} // namespace

TEST_CASE("a lagging evaluator holds rounds back: at most eval_limit "
          "evaluations out, one model waiting",
          "[server][evaluation]") {
  fixture f{6, honest(2), {}, 1.0, true, nullptr,
            [](server_settings& s) { s.eval_limit = 2; }};
  f.run();
  // Rounds 1 and 2 are being evaluated, round 3's model waits, and round 4
  // does not start until an evaluation returns.
  CHECK(*f.max_held == 2);
  CHECK(f.rounds->records().empty());
  CHECK_THAT(f.logs.text(), Catch::Contains("round 3 started"));
  CHECK_THAT(f.logs.text(), !Catch::Contains("round 4 started"));
  for (int i = 0; i < 10 && !f.server_exit; ++i) {
    caf::anon_send(f.evaluator, done_atom::value);
    f.run();
    CHECK(*f.max_held <= 2);
  }
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 6);
  for (const auto& r : rs) {
    CHECK(r.test_accuracy == 0.5); // none skipped
    CHECK(r.evaluated_version == r.model_version);
  }
  caf::anon_send_exit(f.evaluator, caf::exit_reason::user_shutdown);
  f.run();
}

TEST_CASE("with skipping, rounds go on and only the newest waiting model "
          "is evaluated",
          "[server][evaluation]") {
  fixture f{6, honest(2), {}, 1.0, true, nullptr, [](server_settings& s) {
              s.eval_limit = 1;
              s.eval_skip_superseded = true;
            }};
  f.run();
  CHECK(*f.max_held == 1);
  for (int i = 0; i < 5 && !f.server_exit; ++i) {
    caf::anon_send(f.evaluator, done_atom::value);
    f.run();
  }
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 6);
  // Round 1 was evaluated; 2 to 5 were superseded while waiting; the last
  // round's model is always evaluated.
  CHECK(rs[0].test_accuracy == 0.5);
  for (size_t i = 1; i < 5; ++i) {
    CHECK(rs[i].eval_skipped);
    CHECK(rs[i].test_accuracy < 0);
  }
  CHECK(rs[5].test_accuracy == 0.5);
  CHECK(rs[5].evaluated_version == 6);
  caf::anon_send_exit(f.evaluator, caf::exit_reason::user_shutdown);
  f.run();
}

TEST_CASE("eval_every evaluates every N rounds and the last",
          "[server][evaluation]") {
  fixture f{7, honest(2), {}, 1.0, true, nullptr,
            [](server_settings& s) { s.eval_every = 3; }};
  for (int i = 0; i < 10 && !f.server_exit; ++i) {
    f.run();
    caf::anon_send(f.evaluator, done_atom::value);
  }
  f.run();
  auto rs = f.rounds->records();
  REQUIRE(rs.size() == 7);
  std::vector<uint64_t> evaluated;
  for (const auto& r : rs)
    if (r.test_accuracy >= 0)
      evaluated.push_back(r.round);
  CHECK(evaluated == std::vector<uint64_t>{3, 6, 7});
  caf::anon_send_exit(f.evaluator, caf::exit_reason::user_shutdown);
  f.run();
}

TEST_CASE("target accuracy stops the run at the evaluation that reaches it",
          "[server][evaluation]") {
  // The evaluation of version v reports accuracy v / 10; the target is 0.4.
  fixture f{30, honest(2), {}, 1.0, false, nullptr,
            [](server_settings& s) { s.target_accuracy = 0.4; },
            [](caf::actor_system& sys) {
              return sys.spawn([](caf::event_based_actor*) {
                return caf::behavior{[](eval_input& in) {
                  return eval_output{
                    1, 1.0, static_cast<double>(in.model.version) / 10};
                }};
              });
            }};
  f.run();
  f.expire_timers();
  REQUIRE(f.server_exit);
  CHECK(!*f.server_exit);
  auto rs = f.rounds->records();
  REQUIRE(rs.size() >= 4);
  CHECK(rs[3].test_accuracy == Approx(0.4));
  // At most the round already collecting when the answer came is recorded
  // after it.
  CHECK(rs.size() <= 5);
  CHECK_THAT(f.logs.text(), Catch::Contains("target accuracy 0.4000 reached "
                                            "at round 4"));
  caf::anon_send_exit(f.evaluator, caf::exit_reason::user_shutdown);
  f.run();
}

TEST_CASE("per-client records name each sampled client's result or failure",
          "[server][client_metrics]") {
  const std::string path = "/tmp/fl_server_test_clients.jsonl";
  std::remove(path.c_str());
  {
    fixture f{2, {test::conduct::honest, test::conduct::fails,
                  test::conduct::honest},
              {}, 0.5, false, nullptr,
              [&](server_settings& s) { s.client_metrics_path = path; }};
    f.run();
    REQUIRE(f.rounds->records().size() == 2);
  }
  std::ifstream in{path};
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  REQUIRE(lines.size() == 6); // 3 clients x 2 rounds
  CHECK_THAT(lines[0], Catch::StartsWith("{\"round\":1,\"client\":\"client-0\","
                                         "\"status\":\"ok\",\"samples\":"));
  CHECK_THAT(lines[2], Catch::Contains("\"client\":\"client-1\",\"status\":"
                                       "\"failed\",\"reason\":"));
  CHECK_THAT(lines[3], Catch::StartsWith("{\"round\":2,"));
  std::remove(path.c_str());
}

TEST_CASE("a member announcing 2^62 samples can neither take the round nor "
          "erase the others' updates",
          "[server][guard]") {
  // One run without the attacker, and two with it (claiming its samples, or
  // announcing them and staying silent): the honest updates make the same
  // model every time (to float precision: the attacker's capped share of
  // the budget changes the rounding, not the result).
  auto model_after = [](test::conduct attacker, bool with_attacker) {
    std::vector<test::conduct> cs{test::conduct::honest,
                                  test::conduct::honest};
    if (with_attacker)
      cs.push_back(attacker);
    std::vector<float> seen;
    fixture f{1, cs, {}, 0.5, false, nullptr, {},
              [&seen](caf::actor_system& sys) {
                return sys.spawn([&seen](caf::event_based_actor*) {
                  return caf::behavior{[&seen](eval_input& in) {
                    seen.assign(in.model.values.begin(),
                                in.model.values.end());
                    return eval_output{1, 0.5, 0.5};
                  }};
                });
              }};
    f.run();
    f.expire_timers();
    auto rs = f.rounds->records();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].accepted);
    CHECK(rs[0].clients_ok == 2);
    caf::anon_send_exit(f.evaluator, caf::exit_reason::user_shutdown);
    f.run();
    return seen;
  };
  const auto honest_only = model_after(test::conduct::honest, false);
  REQUIRE(!honest_only.empty());
  for (auto attacker : {test::conduct::announces_huge,
                        test::conduct::announces_huge_silent}) {
    const auto m = model_after(attacker, true);
    REQUIRE(m.size() == honest_only.size());
    double worst = 0;
    for (size_t i = 0; i < m.size(); ++i)
      worst = std::max(worst, std::fabs(static_cast<double>(m[i])
                                        - honest_only[i]));
    CHECK(worst < 1e-6);
  }
}
