// A custom trainer: each client fits a line y = a x + b to its own private
// points by gradient descent; FedAvg over 8 clients in one process.
//   build: see examples/CMakeLists.txt; run: ./custom_trainer
#include <cstdio>
#include <random>

#include <fedactor/fedactor.hpp>

namespace {

/// The model is (a, b); client data are points of y = 3 x - 1 plus noise,
/// addressed by the sample indices the federation hands each client.
class line_trainer : public fedactor::trainer {
public:
  line_trainer() { layout_.add("line", {2}); }

  const fedactor::model_layout& layout() const override { return layout_; }

  caf::expected<fedactor::fit_output>
  fit(const fedactor::fit_input& in) override {
    auto w = std::make_shared<std::vector<float>>(in.global.begin(),
                                                  in.global.end());
    double loss = 0;
    for (int64_t e = 0; e < in.config.epochs; ++e) {
      double ga = 0, gb = 0;
      loss = 0;
      for (auto i : *in.samples) {
        const double x = point_x(i), err = (*w)[0] * x + (*w)[1] - point_y(i);
        ga += err * x;
        gb += err;
        loss += err * err;
      }
      const double n = static_cast<double>(in.samples->size());
      (*w)[0] -= static_cast<float>(in.config.lr * ga / n);
      (*w)[1] -= static_cast<float>(in.config.lr * gb / n);
      loss /= n;
    }
    fedactor::fit_output out;
    out.params = w;
    out.num_samples = in.samples->size();
    out.metrics.loss = loss;
    return out;
  }

  caf::expected<fedactor::eval_output>
  evaluate(fedactor::span<const float> p) override {
    fedactor::eval_output out; // distance to the true line
    out.num_samples = 1;
    out.loss = (p[0] - 3.0) * (p[0] - 3.0) + (p[1] + 1.0) * (p[1] + 1.0);
    out.accuracy = 1.0 / (1.0 + out.loss);
    return out;
  }

  std::vector<float> initial_params(uint64_t) override { return {0.f, 0.f}; }

private:
  static double point_x(int64_t i) {
    return static_cast<double>(i % 100) / 50 - 1;
  }
  static double point_y(int64_t i) {
    std::mt19937_64 rng{static_cast<uint64_t>(i)};
    return 3 * point_x(i) - 1 + std::normal_distribution<double>{0, 0.1}(rng);
  }
  fedactor::model_layout layout_;
};

} // namespace

int main() {
  fedactor::federation fed;
  fed.set("federation.clients", "8");
  fed.set("federation.clients_per_round", "4");
  fed.set("federation.rounds", "20");
  fed.set("training.lr", "0.5");
  fed.set("training.epochs", "5");
  fed.use_trainer([] { return std::make_unique<line_trainer>(); });
  auto result = fed.simulate();
  if (!result) {
    std::fprintf(stderr, "%s\n", fedactor::describe(result.error()).c_str());
    return 1;
  }
  for (const auto& r : result->rounds)
    if (r.round % 5 == 0)
      std::printf("round %2llu  distance to y = 3x - 1: %.5f\n",
                  static_cast<unsigned long long>(r.round), r.test_loss);
  return result->final_loss < 0.01 ? 0 : 1;
}
