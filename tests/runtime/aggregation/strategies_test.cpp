#include <catch2/catch.hpp>

#include <algorithm>

#include "runtime/aggregation/strategies.hpp"
#include "runtime/core/errors.hpp"

using namespace fl;

namespace {

strategy_settings named(const std::string& name) {
  strategy_settings s;
  s.name = name;
  return s;
}

fit_result result(uint64_t samples, uint64_t steps) {
  fit_result r;
  r.node_id = "c";
  r.num_samples = samples;
  r.metrics.local_steps = steps;
  return r;
}

} // namespace

TEST_CASE("the registry knows every built-in strategy and refuses unknown "
          "names",
          "[strategy]") {
  const auto names = strategy_names();
  for (const char* n : {"fedavg", "fedavgm", "fedadam", "fedyogi",
                        "fedadagrad", "fedprox", "scaffold", "fednova",
                        "median", "trimmed-mean", "krum", "multi-krum",
                        "norm-bound"}) {
    CHECK(std::find(names.begin(), names.end(), n) != names.end());
    auto s = make_strategy(named(n));
    REQUIRE(s);
    CHECK((*s)->name() == n);
  }
  auto bad = make_strategy(named("fedavgg"));
  REQUIRE(!bad);
  CHECK(has_code(bad.error(), errc::invalid_config));
  CHECK(describe(bad.error()).find("unknown strategy 'fedavgg'")
        != std::string::npos);
  CHECK(describe(bad.error()).find("fedyogi") != std::string::npos);
}

TEST_CASE("the registry refuses bad settings with the setting's name",
          "[strategy]") {
  auto with = [](const std::string& name, auto edit) {
    auto s = named(name);
    edit(s);
    auto made = make_strategy(s);
    return made ? std::string{} : describe(made.error());
  };
  CHECK(with("fedavgm", [](auto& s) { s.server_momentum = 1.0; })
          .find("strategy.server_momentum") != std::string::npos);
  CHECK(with("fedadam", [](auto& s) { s.tau = 0; }).find("strategy.tau")
        != std::string::npos);
  CHECK(with("krum", [](auto& s) { s.krum_f = 8; }).find("strategy.krum_f")
        != std::string::npos);
  CHECK(with("trimmed-mean", [](auto& s) { s.trim_beta = 0.5; })
          .find("strategy.trim_beta") != std::string::npos);
  CHECK(with("norm-bound", [](auto& s) { s.norm_bound = -1; })
          .find("strategy.norm_bound") != std::string::npos);
  CHECK(with("fedavg", [](auto& s) { s.server_lr = -1; })
          .find("strategy.server_lr") != std::string::npos);
}

TEST_CASE("an application registers its own strategy by name",
          "[strategy]") {
  class every_other : public fedavg {
  public:
    every_other() : fedavg(1, 1.0, 0) {}
    std::string name() const override { return "every-other"; }
    config_map fit_config(uint64_t round, const std::string&) const override {
      return {{"epochs", int64_t{round % 2 == 0 ? 2 : 1}}};
    }
  };
  register_strategy("every-other", [](const strategy_settings&) {
    return caf::expected<std::shared_ptr<strategy>>{
      std::make_shared<every_other>()};
  });
  auto s = make_strategy(named("every-other"));
  REQUIRE(s);
  CHECK((*s)->fit_config(2, "c").at("epochs") == config_value{int64_t{2}});
  const auto names = strategy_names();
  CHECK(std::find(names.begin(), names.end(), "every-other") != names.end());
}

TEST_CASE("plans: optimizers, robust rules, SCAFFOLD and FedProx's config",
          "[strategy]") {
  CHECK(!(*make_strategy(named("fedavg")))->plan().optimizer);
  auto adam = (*make_strategy(named("fedadam")))->plan();
  REQUIRE(adam.optimizer);
  CHECK(adam.optimizer()->name().find("lr=0.01") != std::string::npos);
  auto m = (*make_strategy(named("multi-krum")))->plan();
  CHECK(m.robust.rule == combine_rule::multi_krum);
  auto nb = (*make_strategy(named("norm-bound")))->plan();
  CHECK(nb.norm_bound == 1.0);
  auto sc = named("scaffold");
  sc.total_clients = 40;
  sc.client_lr = 0.1;
  auto p = (*make_strategy(sc))->plan();
  CHECK(p.control_variates);
  CHECK(p.total_clients == 40);
  CHECK(p.client_lr == 0.1);
  auto prox = (*make_strategy(named("fedprox")))->fit_config(1, "c");
  CHECK(prox.at("prox_mu") == config_value{0.01});
  CHECK((*make_strategy(named("fedavg")))->fit_config(1, "c").empty());
}

TEST_CASE("FedNova weights and step scale on hand-computed numbers",
          "[strategy]") {
  // Two clients: 100 samples x 10 steps, 300 samples x 30 steps.
  // p = 0.25, 0.75; tau_eff = 2.5 + 22.5 = 25; sum p / tau = 0.025 + 0.025
  // = 0.05; scale = 25 * 0.05 = 1.25.
  std::vector<fit_result> rs{result(100, 10), result(300, 30)};
  CHECK(fednova_scale(rs) == Approx(1.25));
  auto nova = *make_strategy(named("fednova"));
  CHECK(nova->fit_weight(rs[0]) == Approx(10.0));
  CHECK(nova->fit_weight(rs[1]) == Approx(10.0));
  CHECK(nova->step_scale(rs) == Approx(1.25));
  // Equal steps: FedNova is FedAvg (scale 1).
  CHECK(fednova_scale({result(100, 10), result(300, 10)}) == Approx(1.0));
  // A result without a step count: no normalisation.
  CHECK(fednova_scale({result(100, 0)}) == 1.0);
  CHECK((*make_strategy(named("fedavg")))->step_scale(rs) == 1.0);
}

TEST_CASE("client-side evaluation samples every N rounds", "[strategy]") {
  auto s = named("fedavg");
  s.client_eval_every = 3;
  s.client_eval_clients = 2;
  auto strat = *make_strategy(s);
  std::vector<client_info> all{{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}};
  CHECK(strat->configure_evaluate(1, all).empty());
  CHECK(strat->configure_evaluate(3, all).size() == 2);
  CHECK(strat->configure_evaluate(3, all) == strat->configure_evaluate(3, all));
}
