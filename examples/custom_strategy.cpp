// A custom strategy: FedAvg whose clients' learning rate decays every round
// and which refuses a round whose mean training loss jumps (the previous
// model stays). Trains the built-in MLP on Fashion-MNIST for 5 rounds.
//   build: see examples/CMakeLists.txt; run: ./custom_strategy
#include <cmath>
#include <cstdio>

#include <fedactor/fedactor.hpp>

namespace {

class decaying_fedavg : public fedactor::fedavg {
public:
  decaying_fedavg(const fedactor::strategy_settings& s, double decay)
    : fedavg(s.clients_per_round, s.quorum, s.seed),
      lr0_(s.client_lr),
      decay_(decay) {
  }

  std::string name() const override { return "decaying-fedavg"; }

  // Sent to every sampled client with its activation; the built-in trainer
  // reads "lr" (a custom trainer would see any other key too).
  fedactor::config_map fit_config(uint64_t round,
                                  const std::string&) const override {
    return {{"lr", lr0_ * std::pow(decay_, static_cast<double>(round - 1))}};
  }

  caf::error aggregate_fit(uint64_t round,
                           const std::vector<fedactor::fit_result>& results,
                           const std::vector<fedactor::fit_failure>& failures,
                           size_t sampled) const override {
    if (auto err = fedavg::aggregate_fit(round, results, failures, sampled))
      return err;
    double loss = 0, n = 0;
    for (const auto& r : results) {
      loss += r.metrics.loss * static_cast<double>(r.num_samples);
      n += static_cast<double>(r.num_samples);
    }
    loss /= n;
    if (last_loss_ > 0 && loss > 2 * last_loss_)
      return fedactor::make_fl_error(fedactor::errc::rejected_model,
                                     "training loss jumped");
    last_loss_ = loss;
    return caf::none;
  }

private:
  double lr0_, decay_;
  mutable double last_loss_ = 0; // aggregate_fit is const in the interface
};

} // namespace

int main() {
  fedactor::federation fed;
  fed.set("federation.rounds", "5");
  fed.set("federation.clients", "20");
  fed.set("federation.clients_per_round", "5");
  fed.use_strategy("decaying-fedavg", [](const fedactor::strategy_settings& s)
                     -> caf::expected<std::shared_ptr<fedactor::strategy>> {
    return std::make_shared<decaying_fedavg>(s, 0.8);
  });
  auto result = fed.simulate();
  if (!result) {
    std::fprintf(stderr, "%s\n", fedactor::describe(result.error()).c_str());
    return 1;
  }
  for (const auto& r : result->rounds)
    std::printf("round %llu  test accuracy %.4f\n",
                static_cast<unsigned long long>(r.round), r.test_accuracy);
  return result->final_accuracy > 0.5 ? 0 : 1;
}
