// The async server (FedAsync, FedBuff) against scripted clients, driven by
// CAF's deterministic test coordinator.

#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>

#include "actors/async_server.hpp"
#include "runtime/core/errors.hpp"
#include "support/deterministic.hpp"
#include "support/lagging_evaluator.hpp"
#include "support/scripted_client.hpp"
#include "support/synthetic_federation.hpp"

using namespace fl;

namespace {

struct fixture : test::deterministic_system {
  std::shared_ptr<async_log> records = std::make_shared<async_log>();
  test::error_log errors = std::make_shared<std::vector<error_msg>>();
  caf::actor server;
  std::optional<caf::error> server_exit;

  caf::actor evaluator;
  std::shared_ptr<size_t> max_held = std::make_shared<size_t>(0);

  /// With `eval_limit` > 0, a lagging evaluator (answers on done_atom)
  /// evaluates every version under that limit.
  fixture(federation_mode mode, uint64_t max_updates,
          std::vector<test::conduct> clients, guard_settings g = {},
          double server_lr = 1.0, uint64_t eval_limit = 0,
          bool skip = false, bool logical_clock = false) {
    async_server_settings s;
    s.mode = mode;
    s.min_clients = clients.size();
    s.concurrency = clients.size();
    s.max_updates = max_updates;
    s.eval_every = 1000;
    s.buffer_k = 2;
    s.alpha = 0.5;
    s.server_lr = server_lr;
    s.exit_grace_s = 1;
    s.guard = g;
    s.detached_aggregation = false;
    s.folder = std::shared_ptr<aggregator>{make_cpu_aggregator(1)};
    s.log_sink = records;
    s.logical_clock = logical_clock;
    if (eval_limit > 0) {
      s.eval_every = 1;
      s.eval_limit = eval_limit;
      s.eval_skip_superseded = skip;
      evaluator = test::spawn_lagging_evaluator(sys, max_held);
    }
    server = spawn_async_server(sys, s,
                                test::synthetic_initial_model(
                                  test::synthetic_model_size),
                                evaluator, logs.log());
    server->attach_functor(
      [this](const caf::error& reason) { server_exit = reason; });
    test::spawn_scripted_clients(sys, server, clients, errors);
  }
};

} // namespace

TEST_CASE("FedAsync mixes every update into a new version",
          "[async_server]") {
  fixture f{federation_mode::async, 8,
            {test::conduct::honest, test::conduct::honest}};
  f.run();
  REQUIRE(f.server_exit);
  CHECK(!*f.server_exit);
  auto rs = f.records->records();
  REQUIRE(!rs.empty());
  CHECK(rs.back().updates_applied == 8);
  CHECK(rs.back().model_version == 8);
  CHECK(rs.back().models_rejected == 0);
}

TEST_CASE("FedAsync drops an update of 3e38 values and keeps learning",
          "[async_server][guard]") {
  fixture f{federation_mode::async, 6,
            {test::conduct::honest, test::conduct::huge_values}};
  f.run();
  auto rs = f.records->records();
  REQUIRE(!rs.empty());
  CHECK(rs.back().updates_applied == 6);
  CHECK(rs.back().updates_dropped > 0);
  CHECK(rs.back().models_rejected == 0);
  CHECK_THAT(f.logs.text(), Catch::Contains("dropped update from client-1")
                              && Catch::Contains("rejected_update"));
}

TEST_CASE("FedBuff steps once per K deltas; 2^62 samples are refused",
          "[async_server][guard]") {
  fixture f{federation_mode::fedbuff, 6,
            {test::conduct::honest, test::conduct::honest,
             test::conduct::huge_samples}};
  f.run();
  auto rs = f.records->records();
  REQUIRE(!rs.empty());
  CHECK(rs.back().updates_applied == 6);
  CHECK(rs.back().model_version == 3); // K = 2
  CHECK_THAT(f.logs.text(), Catch::Contains("claims 4611686018427387904"));
}

TEST_CASE("a FedBuff run whose steps are all rejected stops with an error",
          "[async_server][guard]") {
  guard_settings g;
  g.max_rejections = 2;
  fixture f{federation_mode::fedbuff, 100,
            {test::conduct::honest, test::conduct::honest}, g, 1e4};
  f.run();
  REQUIRE(f.server_exit);
  CHECK(f.server_exit->code() == static_cast<uint8_t>(errc::rejected_model));
  auto rs = f.records->records();
  REQUIRE(!rs.empty());
  CHECK(rs.back().model_version == 0);
  CHECK(rs.back().models_rejected >= 2);
}

TEST_CASE("a failure report frees the client's slot at once",
          "[async_server][failures]") {
  fixture f{federation_mode::async, 4,
            {test::conduct::honest, test::conduct::fails}};
  f.run(); // no timer expired: the reports alone free the slot
  auto rs = f.records->records();
  REQUIRE(!rs.empty());
  CHECK(rs.back().updates_applied == 4);
  CHECK(rs.back().updates_dropped > 0);
  CHECK_THAT(f.logs.text(), Catch::Contains("client-1 reported")
                              && Catch::Contains("out of memory"));
}

TEST_CASE("a lagging evaluator holds FedAsync back instead of queueing "
          "versions",
          "[async_server][evaluation]") {
  fixture f{federation_mode::async, 6,
            {test::conduct::honest, test::conduct::honest}, {}, 1.0, 1};
  f.run();
  CHECK(*f.max_held == 1);
  const auto early = f.records->records().size();
  CHECK(early == 0); // version 1 is being evaluated, version 2 waits
  for (int i = 0; i < 20 && !f.server_exit; ++i) {
    caf::anon_send(f.evaluator, done_atom::value);
    f.run();
    CHECK(*f.max_held == 1);
  }
  auto rs = f.records->records();
  REQUIRE(rs.size() >= 6);
  for (size_t i = 0; i + 1 < rs.size(); ++i) {
    CHECK(rs[i].model_version == i + 1); // every version, in order
    CHECK(rs[i].test_accuracy == 0.5);
  }
  caf::anon_send_exit(f.evaluator, caf::exit_reason::user_shutdown);
  f.run();
}

TEST_CASE("with skipping, FedAsync goes on and superseded versions are not "
          "evaluated",
          "[async_server][evaluation]") {
  fixture f{federation_mode::async, 6,
            {test::conduct::honest, test::conduct::honest}, {}, 1.0, 1, true};
  f.run();
  CHECK(*f.max_held == 1);
  for (int i = 0; i < 20 && !f.server_exit; ++i) {
    caf::anon_send(f.evaluator, done_atom::value);
    f.run();
  }
  auto rs = f.records->records();
  REQUIRE(!rs.empty());
  size_t skipped = 0;
  for (const auto& r : rs)
    skipped += r.eval_skipped;
  CHECK(skipped > 0);
  CHECK(rs.back().test_accuracy == 0.5);
  CHECK(rs.back().updates_applied == 6);
  caf::anon_send_exit(f.evaluator, caf::exit_reason::user_shutdown);
  f.run();
}

TEST_CASE("FedBuff on a logical clock without an update budget stops with "
          "a clear error",
          "[async_server]") {
  fixture f{federation_mode::fedbuff, 0, {test::conduct::honest}, {}, 1.0, 0,
            false, true};
  f.run();
  f.expire_timers();
  REQUIRE(f.server_exit);
  CHECK(f.server_exit->code() == static_cast<uint8_t>(errc::invalid_config));
  CHECK_THAT(f.logs.text(), Catch::Contains("needs --max-updates > 0"));
}

TEST_CASE("FedBuff on a logical clock completes when a member is lost",
          "[async_server]") {
  // client-2 joins but never answers; it is then reported lost.
  fixture f{federation_mode::fedbuff, 8,
            {test::conduct::honest, test::conduct::honest,
             test::conduct::silent},
            {}, 1.0, 0, false, true};
  f.run();
  caf::anon_send(f.server, lost_atom::value, std::string{"client-2"},
                 make_fl_error(errc::peer_lost, "connection closed"));
  f.run();
  f.expire_timers();
  REQUIRE(f.server_exit);
  CHECK(!*f.server_exit);
  auto rs = f.records->records();
  REQUIRE(!rs.empty());
  CHECK(rs.back().model_version == 4); // every buffer was applied
  CHECK_THAT(f.logs.text(), Catch::Contains("this run no longer follows its "
                                            "plan"));
}
