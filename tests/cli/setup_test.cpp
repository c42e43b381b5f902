// The real workload's wiring: Fashion-MNIST from the Debian package, the
// partitioner, the LibTorch MLP trainer, and a short federation with them.

#include <catch2/catch.hpp>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/client.hpp"
#include "actors/server.hpp"
#include "actors/training_pool.hpp"
#include "cli/client_roster.hpp"
#include "cli/setup.hpp"
#include "runtime/data/fmnist.hpp"
#include "messages/system_config.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/aggregation/fedavg.hpp"
#include "support/log_capture.hpp"

using namespace fl;

TEST_CASE("Fashion-MNIST loads from the Debian package", "[data]") {
  auto data = load_fashion_mnist("/usr/share/datasets/fashion-mnist");
  REQUIRE(data);
  CHECK((*data)->train.count == 60000);
  CHECK((*data)->test.count == 10000);
  CHECK((*data)->train.sample_shape == std::vector<int64_t>{1, 28, 28});
  CHECK((*data)->num_classes == 10);
  auto missing = load_fashion_mnist("/nonexistent");
  REQUIRE(!missing);
  CHECK(missing.error() == errc::io_error);
  CHECK_THAT(describe(missing.error()), Catch::Contains("dataset-fashion-mnist"));
}

TEST_CASE("a 3-round MLP federation on Fashion-MNIST lowers the test loss",
          "[federation][torch]") {
  // Prepare: W1's setup, shortened to 3 rounds of 5 clients.
  node_config cfg;
  cfg.federation.rounds = 3;
  cfg.federation.clients_per_round = 5;
  auto training = cli::make_training(cfg);
  REQUIRE(training);
  auto roster = cli::client_roster::make(cfg, *training, 0, 100, 100);
  REQUIRE(static_cast<bool>(roster));
  CHECK((*roster)->settings(0).samples->size() == 600);
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  test::log_capture logs;
  auto init = training->make();
  flat_model initial{init->layout()};
  auto params = init->initial_params(0);
  initial.assign(span<const float>{params});
  auto settings = cli::make_server_settings(cfg);
  settings.metrics_path.clear();
  auto rounds = std::make_shared<round_log>();
  settings.log_sink = rounds;
  auto evaluator = spawn_training_worker(sys, std::move(init), logs.log());
  auto pool = spawn_training_pool(sys, 2, training->make, logs.log());
  auto server = spawn_server(sys, settings,
                             std::make_shared<fedavg>(5, 1.0, 0),
                             std::move(initial), evaluator, logs.log());
  for (uint64_t i = 0; i < 100; ++i)
    spawn_client(sys, (*roster)->settings(i), server, pool, logs.log());
  // Execute
  caf::scoped_actor self{sys};
  self->monitor(server);
  self->receive([](caf::down_msg&) {},
                caf::after(std::chrono::seconds(300)) >>
                  [] { FAIL("federation did not finish"); });
  caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(evaluator, caf::exit_reason::user_shutdown);
  // Assert
  auto rs = rounds->records();
  REQUIRE(rs.size() == 3);
  CHECK(rs[0].test_accuracy > 0.1);
  CHECK(rs[2].test_loss < rs[0].test_loss);
  CHECK(rs[2].test_accuracy > rs[0].test_accuracy);
}
