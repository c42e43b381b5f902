#include "runtime/training/torch_trainer.hpp"

#include <chrono>
#include <dlfcn.h>
#include <cstring>
#include <numeric>
#include <random>

#include <torch/torch.h>

#include "runtime/core/errors.hpp"
#include "runtime/training/torch_binding.hpp"

namespace fl {

namespace {

/// One intra-op thread per training worker: with 2 threads on 2 cores this
/// model size trains ~5x slower, and workers already run in parallel. The
/// pthread build of OpenBLAS keeps its own thread pool, which spins in
/// sched_yield between calls, so it is capped as well when it is the BLAS
/// LibTorch was given (found at run time; absent otherwise).
void one_torch_thread() {
  thread_local bool done = false;
  if (!done) {
    at::set_num_threads(1);
    using set_threads_fn = void (*)(int);
    static auto openblas_set = reinterpret_cast<set_threads_fn>(
      dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (openblas_set != nullptr)
      openblas_set(1);
    done = true;
  }
}

/// A read-only tensor view of a dataset split (no copy).
torch::Tensor view_pixels(const image_set& s) {
  return torch::from_blob(const_cast<float*>(s.pixels.data()),
                          {s.count, s.rows * s.cols}, torch::kFloat32);
}

torch::Tensor view_labels(const image_set& s) {
  return torch::from_blob(const_cast<int64_t*>(s.labels.data()), {s.count},
                          torch::kInt64);
}

caf::error check_size(size_t got, size_t want) {
  if (got == want)
    return caf::none;
  return make_fl_error(errc::size_mismatch,
                       "model has " + std::to_string(got)
                         + " parameters, expected " + std::to_string(want));
}

} // namespace

caf::expected<std::unique_ptr<torch_trainer>>
torch_trainer::make(const std::string& model,
                    std::shared_ptr<const image_dataset> data) {
  auto net = make_model(model);
  if (!net)
    return std::move(net.error());
  return std::unique_ptr<torch_trainer>{
    new torch_trainer(model, std::move(*net), std::move(data))};
}

torch_trainer::torch_trainer(std::string model,
                             std::shared_ptr<classifier> net,
                             std::shared_ptr<const image_dataset> data)
  : model_(std::move(model)),
    net_(std::move(net)),
    flat_(bind_flat(*net_)),
    data_(std::move(data)) {
  train_x_ = view_pixels(data_->train);
  train_y_ = view_labels(data_->train);
  test_x_ = view_pixels(data_->test);
  test_y_ = view_labels(data_->test);
}

caf::expected<fit_output> torch_trainer::fit(const fit_input& in) {
  one_torch_thread();
  if (auto err = check_size(in.global.size(), flat_.size()))
    return err;
  if (!in.samples || in.samples->empty())
    return make_fl_error(errc::invalid_field, "client has no samples");
  const auto start = std::chrono::steady_clock::now();
  flat_.assign(in.global);
  const auto& cfg = in.config;
  torch::optim::SGD opt{net_->parameters(),
                        torch::optim::SGDOptions(cfg.lr)
                          .momentum(cfg.momentum)
                          .weight_decay(cfg.weight_decay)};
  // FedProx: views of the global model, per parameter, for the proximal term.
  std::vector<torch::Tensor> global_views;
  if (cfg.prox_mu > 0) {
    for (const auto& l : flat_.layout().layers())
      global_views.push_back(
        torch::from_blob(const_cast<float*>(in.global.data()) + l.offset,
                         l.shape, torch::kFloat32));
  }
  auto params = net_->parameters();
  // SCAFFOLD: views of c - c_i per parameter, added to every gradient.
  std::vector<torch::Tensor> control_views;
  if (in.control.size() == flat_.size())
    for (const auto& l : flat_.layout().layers())
      control_views.push_back(
        torch::from_blob(const_cast<float*>(in.control.data()) + l.offset,
                         l.shape, torch::kFloat32));
  uint64_t steps = 0;
  std::vector<int64_t> order(*in.samples);
  std::mt19937_64 rng{in.seed};
  net_->train();
  // Loss and accuracy are summed as tensors and read once per epoch: a
  // scalar read per step costs more dispatcher time than it is worth.
  auto loss_sum = torch::zeros({}, torch::kFloat64);
  auto correct = torch::zeros({}, torch::kInt64);
  int64_t seen = 0;
  const auto n = static_cast<int64_t>(order.size());
  for (int64_t epoch = 0; epoch < cfg.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    loss_sum.zero_();
    correct.zero_();
    seen = 0;
    for (int64_t first = 0; first < n; first += cfg.batch_size) {
      const auto count = std::min(cfg.batch_size, n - first);
      auto idx = torch::from_blob(order.data() + first, {count}, torch::kInt64);
      auto x = train_x_.index_select(0, idx);
      auto y = train_y_.index_select(0, idx);
      opt.zero_grad();
      auto logits = net_->forward(x);
      auto loss = torch::nn::functional::cross_entropy(logits, y);
      if (cfg.prox_mu > 0) {
        auto prox = torch::zeros({}, torch::kFloat32);
        for (size_t i = 0; i < params.size(); ++i)
          prox = prox + (params[i] - global_views[i]).pow(2).sum();
        loss = loss + 0.5 * cfg.prox_mu * prox;
      }
      loss.backward();
      if (!control_views.empty()) {
        torch::NoGradGuard no_grad;
        for (size_t i = 0; i < params.size(); ++i)
          params[i].mutable_grad().add_(control_views[i]);
      }
      opt.step();
      ++steps;
      torch::NoGradGuard no_grad;
      loss_sum.add_(loss.detach(), static_cast<double>(count));
      correct.add_(logits.argmax(1).eq(y).sum());
      seen += count;
    }
  }
  const double mean_loss = loss_sum.item<double>()
                           / static_cast<double>(std::max<int64_t>(seen, 1));
  const double accuracy = static_cast<double>(correct.item<int64_t>())
                          / static_cast<double>(std::max<int64_t>(seen, 1));
  fit_output out;
  out.params = std::make_shared<std::vector<float>>(flat_.data(),
                                                    flat_.data()
                                                      + flat_.size());
  out.num_samples = static_cast<uint64_t>(n);
  out.metrics.local_steps = steps;
  out.metrics.loss = mean_loss;
  out.metrics.accuracy = accuracy;
  out.metrics.train_seconds = std::chrono::duration<double>(
                                std::chrono::steady_clock::now() - start)
                                .count();
  return out;
}

caf::expected<eval_output> torch_trainer::evaluate(span<const float> params) {
  one_torch_thread();
  if (auto err = check_size(params.size(), flat_.size()))
    return err;
  // Inference mode skips autograd bookkeeping entirely (cheaper than
  // NoGradGuard); the test set goes through in large batches.
  c10::InferenceMode inference;
  flat_.assign(params);
  return score(test_x_, test_y_);
}

caf::expected<eval_output>
torch_trainer::evaluate_samples(span<const float> params,
                                const std::vector<int64_t>& samples) {
  one_torch_thread();
  if (auto err = check_size(params.size(), flat_.size()))
    return err;
  if (samples.empty())
    return make_fl_error(errc::invalid_field, "no held-out samples");
  for (auto i : samples)
    if (i < 0 || i >= data_->train.count)
      return make_fl_error(errc::invalid_field,
                           "held-out sample " + std::to_string(i)
                             + " is outside the training set");
  c10::InferenceMode inference;
  flat_.assign(params);
  auto idx = torch::from_blob(const_cast<int64_t*>(samples.data()),
                              {static_cast<int64_t>(samples.size())},
                              torch::kInt64);
  return score(train_x_.index_select(0, idx), train_y_.index_select(0, idx));
}

eval_output torch_trainer::score(const torch::Tensor& xs,
                                 const torch::Tensor& ys) {
  net_->eval();
  const int64_t n = xs.size(0);
  double loss_sum = 0;
  int64_t correct = 0;
  constexpr int64_t batch = 5000;
  for (int64_t first = 0; first < n; first += batch) {
    const auto count = std::min(batch, n - first);
    auto x = xs.narrow(0, first, count);
    auto y = ys.narrow(0, first, count);
    auto logits = net_->forward(x);
    loss_sum += torch::nn::functional::cross_entropy(
                  logits, y,
                  torch::nn::functional::CrossEntropyFuncOptions().reduction(
                    torch::kSum))
                  .item<double>();
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
  }
  eval_output out;
  out.num_samples = static_cast<uint64_t>(n);
  out.loss = loss_sum / static_cast<double>(n);
  out.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return out;
}

std::vector<float> torch_trainer::initial_params(uint64_t seed) {
  torch::manual_seed(seed);
  auto fresh = make_model(model_);
  auto flat = bind_flat(**fresh);
  return std::vector<float>(flat.data(), flat.data() + flat.size());
}

} // namespace fl
