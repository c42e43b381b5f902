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

/// A read-only tensor view of a split's features, [count, shape...].
torch::Tensor view_features(const data_split& s) {
  std::vector<int64_t> sizes{s.count};
  sizes.insert(sizes.end(), s.sample_shape.begin(), s.sample_shape.end());
  return torch::from_blob(const_cast<float*>(s.features.data()), sizes,
                          torch::kFloat32);
}

/// Class indices [count] or regression targets [count, target_size].
torch::Tensor view_labels(const data_split& s, bool regression) {
  if (regression)
    return torch::from_blob(const_cast<float*>(s.targets.data()),
                            {s.count, s.target_size}, torch::kFloat32);
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

std::string shape_text(c10::IntArrayRef sizes) {
  std::string out = "[";
  for (size_t i = 0; i < sizes.size(); ++i)
    out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}

/// Sum of squared deviations of the targets from their mean.
double total_variance(const torch::Tensor& y) {
  auto yd = y.to(torch::kFloat64);
  return (yd - yd.mean(0, /*keepdim=*/true)).pow(2).sum().item<double>();
}

} // namespace

caf::expected<std::unique_ptr<torch_trainer>>
torch_trainer::make(const torch_model_spec& spec,
                    std::shared_ptr<const dataset> data) {
  const bool regression = data->task == task_kind::regression;
  std::string loss = spec.loss == "auto"
                       ? (regression ? "mse" : "cross-entropy")
                       : spec.loss;
  if (loss != "mse" && loss != "cross-entropy")
    return make_fl_error(errc::invalid_config,
                         "training.loss must be auto, cross-entropy or mse, "
                         "got '" + spec.loss + "'");
  if ((loss == "mse") != regression)
    return make_fl_error(errc::invalid_config,
                         "loss " + loss + " does not fit a "
                           + to_string(data->task)
                           + " dataset (set --task or --loss)");
  const int64_t outputs = regression ? data->train.target_size
                                     : data->num_classes;
  auto net = make_network(spec.model, data->train.sample_shape, outputs);
  if (!net)
    return std::move(net.error());
  std::unique_ptr<torch_trainer> t{
    new torch_trainer(spec.model, std::move(*net), std::move(data))};
  // Probe: one forward on two samples, so a model that does not fit the
  // data fails here with the shapes, not inside a worker later.
  one_torch_thread();
  const auto n = std::min<int64_t>(2, t->train_x_.size(0));
  auto x = t->train_x_.narrow(0, 0, n);
  torch::Tensor out;
  try {
    c10::InferenceMode inference;
    t->net_->set_training(false);
    out = t->net_->forward(x);
  } catch (const std::exception& e) {
    return make_fl_error(errc::invalid_config,
                         "model '" + spec.model + "' fails on a batch of shape "
                           + shape_text(x.sizes()) + ": "
                           + torch_error_text(e));
  }
  const auto got = shape_text(out.sizes());
  if (!regression && (out.dim() != 2 || out.size(0) != n
                      || out.size(1) < outputs))
    return make_fl_error(errc::invalid_config,
                         "model '" + spec.model + "' gives outputs of shape "
                           + got + " for " + std::to_string(n)
                           + " samples; the labels need [" + std::to_string(n)
                           + ", " + std::to_string(outputs) + "] class scores");
  if (regression && (out.size(0) != n || out.numel() != n * outputs))
    return make_fl_error(errc::invalid_config,
                         "model '" + spec.model + "' gives outputs of shape "
                           + got + " for " + std::to_string(n)
                           + " samples; the targets need ["
                           + std::to_string(n) + ", " + std::to_string(outputs)
                           + "]");
  return t;
}

torch_trainer::torch_trainer(std::string model, std::unique_ptr<network> net,
                             std::shared_ptr<const dataset> data)
  : model_(std::move(model)),
    net_(std::move(net)),
    flat_(bind_flat(net_->state())),
    data_(std::move(data)),
    regression_(data_->task == task_kind::regression) {
  train_x_ = view_features(data_->train);
  train_y_ = view_labels(data_->train, regression_);
  test_x_ = view_features(data_->test);
  test_y_ = view_labels(data_->test, regression_);
}

int64_t torch_trainer::outputs() const {
  return regression_ ? data_->train.target_size : data_->num_classes;
}

torch::Tensor torch_trainer::loss_of(const torch::Tensor& out,
                                     const torch::Tensor& y) {
  if (regression_)
    return torch::mse_loss(out.reshape({out.size(0), outputs()}), y);
  return torch::nn::functional::cross_entropy(out, y);
}

caf::expected<fit_output> torch_trainer::fit(const fit_input& in) {
  // A user's TorchScript model may throw from forward or backward (a shape
  // it did not expect): that fails this fit, never the worker.
  try {
    return fit_checked(in);
  } catch (const std::exception& e) {
    return make_fl_error(errc::training_failed,
                         "model '" + model_
                           + "' failed to train: " + torch_error_text(e));
  }
}

caf::expected<fit_output> torch_trainer::fit_checked(const fit_input& in) {
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
  net_->set_training(true);
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
      auto loss = loss_of(logits, y);
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
      if (!regression_)
        correct.add_(logits.argmax(1).eq(y).sum());
      seen += count;
    }
  }
  const double mean_loss = loss_sum.item<double>()
                           / static_cast<double>(std::max<int64_t>(seen, 1));
  double accuracy = static_cast<double>(correct.item<int64_t>())
                    / static_cast<double>(std::max<int64_t>(seen, 1));
  if (regression_) {
    // R^2 of the last epoch: mean squared error against the variance of
    // this client's targets.
    auto idx = torch::from_blob(order.data(), {n}, torch::kInt64);
    const double sst = total_variance(train_y_.index_select(0, idx));
    const double sse = mean_loss * static_cast<double>(seen * outputs());
    accuracy = sst > 0 ? 1.0 - sse / sst : 0.0;
  }
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
  try {
    return score(test_x_, test_y_);
  } catch (const std::exception& e) {
    return make_fl_error(errc::training_failed,
                         "model '" + model_
                           + "' failed to evaluate: " + torch_error_text(e));
  }
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
  try {
    return score(train_x_.index_select(0, idx),
                 train_y_.index_select(0, idx));
  } catch (const std::exception& e) {
    return make_fl_error(errc::training_failed,
                         "model '" + model_
                           + "' failed to evaluate: " + torch_error_text(e));
  }
}

eval_output torch_trainer::score(const torch::Tensor& xs,
                                 const torch::Tensor& ys) {
  net_->set_training(false);
  const int64_t n = xs.size(0);
  double loss_sum = 0;
  int64_t correct = 0;
  constexpr int64_t batch = 5000;
  for (int64_t first = 0; first < n; first += batch) {
    const auto count = std::min(batch, n - first);
    auto x = xs.narrow(0, first, count);
    auto y = ys.narrow(0, first, count);
    auto out = net_->forward(x);
    if (regression_) {
      // Summed squared error per target value, averaged below like MSE.
      loss_sum += (out.reshape({count, outputs()}) - y)
                    .pow(2)
                    .sum()
                    .item<double>()
                  / static_cast<double>(outputs());
      continue;
    }
    loss_sum += torch::nn::functional::cross_entropy(
                  out, y,
                  torch::nn::functional::CrossEntropyFuncOptions().reduction(
                    torch::kSum))
                  .item<double>();
    correct += out.argmax(1).eq(y).sum().item<int64_t>();
  }
  eval_output result;
  result.num_samples = static_cast<uint64_t>(n);
  result.loss = loss_sum / static_cast<double>(n);
  if (regression_) {
    const double sst = total_variance(ys);
    const double sse = loss_sum * static_cast<double>(outputs());
    result.accuracy = sst > 0 ? 1.0 - sse / sst : 0.0;
  } else {
    result.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  }
  return result;
}

std::vector<float> torch_trainer::initial_params(uint64_t seed) {
  // A fresh network: the seeded initialisation of a built-in model, the
  // stored values of a TorchScript file (not this trainer's, which train).
  torch::manual_seed(seed);
  auto fresh = make_network(model_, data_->train.sample_shape, outputs());
  if (!fresh)
    return std::vector<float>(flat_.data(), flat_.data() + flat_.size());
  auto flat = bind_flat((*fresh)->state());
  return std::vector<float>(flat.data(), flat.data() + flat.size());
}

} // namespace fl
