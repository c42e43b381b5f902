// SGD steps per second of the built-in models: the engine's trainer (one
// client's fit, as a training worker runs it) against a plain LibTorch loop
// over the same data, model, batch size and optimizer, on one core. Cases
// alternate, REPS times each; the median is printed with the spread.
//   fl_bench_train_steps [DATA_DIR] [SECONDS_PER_CASE] [REPS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/data/fmnist.hpp"
#include "runtime/training/models.hpp"
#include "runtime/training/torch_trainer.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

constexpr int64_t batch = 32;
constexpr int64_t client_samples = 600; // W1's client
constexpr double lr = 0.05;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

/// The plain loop a LibTorch user writes: one model and optimizer, shuffle
/// the client's samples each epoch, index_select a batch, step.
double plain_steps_per_s(const std::string& name, const fl::dataset& data,
                         double budget_s) {
  auto net = *fl::make_model(name);
  torch::optim::SGD opt{net->parameters(), torch::optim::SGDOptions(lr)};
  std::vector<int64_t> shape{data.train.count};
  shape.insert(shape.end(), data.train.sample_shape.begin(),
               data.train.sample_shape.end());
  auto x_all = torch::from_blob(const_cast<float*>(data.train.features.data()),
                                shape, torch::kFloat32);
  auto y_all = torch::from_blob(const_cast<int64_t*>(data.train.labels.data()),
                                {data.train.count}, torch::kInt64);
  std::vector<int64_t> order(client_samples);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::mt19937_64 rng{1};
  net->train();
  uint64_t steps = 0;
  const auto start = clock_type::now();
  while (seconds_since(start) < budget_s) {
    std::shuffle(order.begin(), order.end(), rng);
    for (int64_t first = 0; first < client_samples; first += batch) {
      const auto count = std::min(batch, client_samples - first);
      auto idx = torch::from_blob(order.data() + first, {count},
                                  torch::kInt64);
      auto x = x_all.index_select(0, idx);
      auto y = y_all.index_select(0, idx);
      opt.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
      loss.backward();
      opt.step();
      ++steps;
    }
  }
  return static_cast<double>(steps) / seconds_since(start);
}

/// The engine: whole client fits (load the global model into the module,
/// build the optimizer, shuffle, train `epochs` epochs, copy the result
/// out). More epochs per fit spread the per-fit work over more steps.
double engine_steps_per_s(const std::string& name,
                          const std::shared_ptr<const fl::dataset>& data,
                          double budget_s, int64_t epochs) {
  auto trainer = fl::torch_trainer::make({name, "auto"}, data);
  if (!trainer) {
    std::fprintf(stderr, "cannot build %s\n", name.c_str());
    std::exit(1);
  }
  auto global = (*trainer)->initial_params(0);
  auto samples = std::make_shared<std::vector<int64_t>>(client_samples);
  std::iota(samples->begin(), samples->end(), int64_t{0});
  fl::fit_input in;
  in.global = fl::span<const float>{global};
  in.samples = samples;
  in.config.lr = lr;
  in.config.batch_size = batch;
  in.config.epochs = epochs;
  uint64_t steps = 0;
  const auto start = clock_type::now();
  while (seconds_since(start) < budget_s) {
    ++in.seed;
    auto out = (*trainer)->fit(in);
    if (!out) {
      std::fprintf(stderr, "fit failed\n");
      std::exit(1);
    }
    steps += out->metrics.local_steps;
  }
  return static_cast<double>(steps) / seconds_since(start);
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1]
                                   : "/usr/share/datasets/fashion-mnist";
  const double budget = argc > 2 ? std::atof(argv[2]) : 3.0;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 3;
  at::set_num_threads(1);
  auto data = fl::load_fashion_mnist(dir);
  if (!data) {
    std::fprintf(stderr, "cannot load Fashion-MNIST from %s\n", dir.c_str());
    return 1;
  }
  std::printf("SGD steps per second, batch %lld, %lld-sample client, one "
              "core; median of %d runs of %.1f s (min-max)\n",
              static_cast<long long>(batch),
              static_cast<long long>(client_samples), reps, budget);
  std::printf("%-5s %20s %20s %20s %7s %7s\n", "model", "plain LibTorch",
              "engine, 1 epoch/fit", "engine, 5 epochs/fit", "ratio 1",
              "ratio 5");
  for (const std::string name : {"mlp", "cnn"}) {
    std::vector<double> plain, engine, engine5;
    for (int r = 0; r < reps; ++r) {
      plain.push_back(plain_steps_per_s(name, **data, budget));
      engine.push_back(engine_steps_per_s(name, *data, budget, 1));
      engine5.push_back(engine_steps_per_s(name, *data, budget, 5));
    }
    auto spread = [](const std::vector<double>& xs) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.0f (%.0f-%.0f)", median(xs),
                    *std::min_element(xs.begin(), xs.end()),
                    *std::max_element(xs.begin(), xs.end()));
      return std::string{buf};
    };
    std::printf("%-5s %20s %20s %20s %7.3f %7.3f\n", name.c_str(),
                spread(plain).c_str(), spread(engine).c_str(),
                spread(engine5).c_str(), median(engine) / median(plain),
                median(engine5) / median(plain));
  }
  return 0;
}
