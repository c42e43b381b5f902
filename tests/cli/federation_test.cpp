// The embedding facade: a federation runs an application's trainer,
// dataset and strategy, returns the server's records, shuts down by itself
// (so it can run again) and turns every failure into an error with the
// reason, never an exit.

#include <catch2/catch.hpp>

#include <atomic>
#include <random>

#include "cli/federation.hpp"
#include "runtime/aggregation/fedavg.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/training/synthetic_trainer.hpp"

using namespace fl;

namespace {

federation small_federation() {
  federation fed;
  REQUIRE(!fed.set("federation.clients", "6"));
  REQUIRE(!fed.set("federation.clients_per_round", "3"));
  REQUIRE(!fed.set("federation.rounds", "3"));
  REQUIRE(!fed.set("training.workers", "1"));
  fed.log_level("off");
  return fed;
}

/// Two well-separated classes in 2 features, owner = sample % 3.
std::shared_ptr<const dataset> two_blobs(bool with_owners) {
  auto d = std::make_shared<dataset>();
  d->num_classes = 2;
  std::mt19937_64 rng{5};
  std::normal_distribution<float> noise{0, 0.3f};
  for (auto* s : {&d->train, &d->test}) {
    s->count = 300;
    s->sample_shape = {2};
    for (int64_t i = 0; i < s->count; ++i) {
      const float c = (i % 2) ? 2.0f : -2.0f;
      s->features.push_back(c + noise(rng));
      s->features.push_back(-c + noise(rng));
      s->labels.push_back(i % 2);
      if (with_owners && s == &d->train)
        s->owners.push_back(i % 3);
    }
  }
  return d;
}

/// FedAvg that counts how often the server asked it to sample.
class counting_fedavg : public fedavg {
public:
  counting_fedavg(const strategy_settings& s, std::atomic<int>* calls)
    : fedavg(s.clients_per_round, s.quorum, s.seed), calls_(calls) {
  }
  std::string name() const override { return "counting"; }
  std::vector<std::string>
  configure_fit(uint64_t round,
                const std::vector<client_info>& available) override {
    ++*calls_;
    return fedavg::configure_fit(round, available);
  }

private:
  std::atomic<int>* calls_;
};

} // namespace

TEST_CASE("a federation runs an application's trainer, returns the records "
          "and can run again",
          "[federation][api]") {
  auto fed = small_federation();
  fed.use_trainer([] { return std::make_unique<synthetic_trainer>(100); });
  for (int run = 0; run < 2; ++run) {
    auto result = fed.simulate();
    INFO((result ? std::string{} : describe(result.error())));
    REQUIRE(result);
    REQUIRE(result->rounds.size() == 3);
    CHECK(result->rounds.back().round == 3);
    CHECK(result->final_loss >= 0);
    CHECK(result->wall_seconds > 0);
  }
}

TEST_CASE("a federation trains the built-in model on an application's "
          "dataset and selects its strategy",
          "[federation][api][torch]") {
  auto fed = small_federation();
  std::atomic<int> calls{0};
  fed.use_dataset(two_blobs(false));
  fed.use_strategy("counting-fedavg",
                   [&calls](const strategy_settings& s)
                     -> caf::expected<std::shared_ptr<strategy>> {
                     return std::make_shared<counting_fedavg>(s, &calls);
                   });
  CHECK(fed.settings().strategy.name == "counting-fedavg");
  auto result = fed.simulate();
  INFO((result ? std::string{} : describe(result.error())));
  REQUIRE(result);
  CHECK(calls.load() == 3);
  CHECK(result->final_accuracy > 0.9);
  // A strategy object instead of a factory: selected by its name.
  strategy_settings s;
  s.clients_per_round = 3;
  s.quorum = 1;
  fed.use_strategy(std::make_shared<counting_fedavg>(s, &calls));
  CHECK(fed.settings().strategy.name == "counting");
  auto again = fed.simulate();
  REQUIRE(again);
  CHECK(calls.load() == 6);
}

TEST_CASE("a federation reports bad settings and failed runs as errors "
          "with the reason",
          "[federation][api]") {
  auto fed = small_federation();
  SECTION("a setting that does not parse or does not exist") {
    CHECK(fed.set("federation.rounds", "many") == errc::invalid_config);
    CHECK(fed.set("federation.roundz", "3") == errc::invalid_config);
  }
  SECTION("settings out of range") {
    fed.settings().federation.quorum = 2;
    auto result = fed.simulate();
    REQUIRE(!result);
    CHECK_THAT(describe(result.error()), Catch::Contains("quorum"));
  }
  SECTION("a partition the dataset cannot give") {
    REQUIRE(!fed.set("data.partition", "by-owner"));
    fed.use_dataset(two_blobs(false));
    auto result = fed.simulate();
    REQUIRE(!result);
    CHECK_THAT(describe(result.error()), Catch::Contains("owner ids"));
  }
  SECTION("owners that do not match the clients") {
    REQUIRE(!fed.set("data.partition", "by-owner"));
    fed.use_dataset(two_blobs(true));
    auto result = fed.simulate();
    REQUIRE(!result);
    CHECK_THAT(describe(result.error()), Catch::Contains("--clients 3"));
  }
}
