// The LibTorch trainer's strategy hooks: step counts, SCAFFOLD's gradient
// correction and evaluation on a client's held-out samples.

#include <catch2/catch.hpp>

#include <numeric>

#include "runtime/core/errors.hpp"
#include "runtime/data/fmnist.hpp"
#include "runtime/training/torch_trainer.hpp"

using namespace fl;

namespace {

std::unique_ptr<torch_trainer> mlp() {
  auto data = load_fashion_mnist("/usr/share/datasets/fashion-mnist");
  REQUIRE(data);
  auto t = torch_trainer::make(torch_model_spec{"mlp"}, *data);
  REQUIRE(t);
  return std::move(*t);
}

fit_input input(const std::vector<float>& global,
                std::shared_ptr<const std::vector<int64_t>> samples) {
  fit_input in;
  in.global = span<const float>{global};
  in.samples = std::move(samples);
  in.seed = 5;
  in.config.epochs = 2;
  in.config.batch_size = 32;
  in.config.lr = 0.05;
  return in;
}

} // namespace

TEST_CASE("the torch trainer counts its steps and applies SCAFFOLD's "
          "correction to every gradient",
          "[torch][scaffold]") {
  auto t = mlp();
  const auto global = t->initial_params(0);
  auto samples = std::make_shared<std::vector<int64_t>>(100);
  std::iota(samples->begin(), samples->end(), 0);
  auto plain = t->fit(input(global, samples));
  REQUIRE(plain);
  // 2 epochs of ceil(100 / 32) = 4 batches.
  CHECK(plain->metrics.local_steps == 8);
  // A constant correction c = 1 adds lr * c per step to the descent:
  // after 8 steps of lr 0.05 the parameters sit about 0.4 lower.
  std::vector<float> control(global.size(), 1.0f);
  auto in = input(global, samples);
  in.control = span<const float>{control};
  auto corrected = t->fit(in);
  REQUIRE(corrected);
  double diff = 0;
  for (size_t i = 0; i < global.size(); ++i)
    diff += (*corrected->params)[i] - (*plain->params)[i];
  diff /= static_cast<double>(global.size());
  CHECK(diff == Approx(-0.4).margin(0.05));
}

TEST_CASE("the torch trainer evaluates on a client's held-out samples",
          "[torch]") {
  auto t = mlp();
  const auto params = t->initial_params(0);
  std::vector<int64_t> held{10, 20, 30, 40};
  auto out = t->evaluate_samples(span<const float>{params}, held);
  REQUIRE(out);
  CHECK(out->num_samples == 4);
  CHECK(out->accuracy >= 0);
  CHECK(out->accuracy <= 1);
  CHECK(has_code(t->evaluate_samples(span<const float>{params}, {-1})
                   .error(),
                 errc::invalid_field));
  CHECK(has_code(t->evaluate_samples(span<const float>{params}, {}).error(),
                 errc::invalid_field));
}
