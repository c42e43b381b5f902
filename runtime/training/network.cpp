#include "runtime/training/network.hpp"

#include <torch/script.h>
#include <torch/torch.h>

#include "runtime/core/config.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/data/numeric_array.hpp"
#include "runtime/training/models.hpp"

namespace fl {

namespace {

/// A built-in C++ module.
class builtin_network : public network {
public:
  explicit builtin_network(std::shared_ptr<classifier> net)
    : net_(std::move(net)) {
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    return net_->forward(x);
  }
  void set_training(bool on) override { net_->train(on); }
  std::vector<torch::Tensor> parameters() override { return net_->parameters(); }
  std::vector<std::pair<std::string, torch::Tensor>> state() override {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& p : net_->named_parameters(/*recurse=*/true))
      out.emplace_back(p.key(), p.value());
    return out;
  }

private:
  std::shared_ptr<classifier> net_;
};

/// A TorchScript module loaded from a file.
class script_network : public network {
public:
  explicit script_network(torch::jit::Module module)
    : module_(std::move(module)) {
    // A module saved from inference code (or from C++) may carry
    // parameters without requires_grad; every parameter trains here.
    for (const auto& p : module_.named_parameters(/*recurse=*/true))
      p.value.requires_grad_(true);
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    auto out = module_.forward({x});
    if (!out.isTensor())
      throw std::runtime_error("forward returned a "
                               + out.tagKind() + ", not one tensor");
    return out.toTensor();
  }
  void set_training(bool on) override { module_.train(on); }
  std::vector<torch::Tensor> parameters() override {
    std::vector<torch::Tensor> out;
    for (const auto& p : module_.named_parameters(/*recurse=*/true))
      out.push_back(p.value);
    return out;
  }
  std::vector<std::pair<std::string, torch::Tensor>> state() override {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& p : module_.named_parameters(/*recurse=*/true))
      out.emplace_back(p.name, p.value);
    // Integer buffers (e.g. num_batches_tracked) are counters, not weights.
    for (const auto& b : module_.named_buffers(/*recurse=*/true))
      if (b.value.scalar_type() == torch::kFloat32)
        out.emplace_back(b.name, b.value);
    return out;
  }

private:
  torch::jit::Module module_;
};

caf::expected<std::unique_ptr<network>> load_script(const std::string& path) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(path);
  } catch (const std::exception& e) {
    return make_fl_error(errc::io_error,
                         "cannot load the TorchScript model '" + path
                           + "': " + torch_error_text(e));
  }
  if (!module.find_method("forward"))
    return make_fl_error(errc::invalid_config,
                         "the TorchScript model '" + path
                           + "' has no forward method");
  size_t trainable = 0;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    if (p.value.scalar_type() != torch::kFloat32)
      return make_fl_error(errc::invalid_config,
                           "the TorchScript model '" + path + "' has "
                             + std::string{c10::toString(
                               p.value.scalar_type())}
                             + " parameter '" + p.name
                             + "'; export it with float32 weights "
                               "(model.float())");
    ++trainable;
  }
  if (trainable == 0)
    return make_fl_error(errc::invalid_config,
                         "the TorchScript model '" + path
                           + "' has no parameters to train");
  return std::unique_ptr<network>{
    std::make_unique<script_network>(std::move(module))};
}

} // namespace

std::string torch_error_text(const std::exception& e) {
  const std::string what = e.what();
  return what.substr(0, what.find('\n'));
}

caf::expected<std::unique_ptr<network>>
make_network(const std::string& model, const std::vector<int64_t>& input_shape,
             int64_t outputs) {
  if (is_model_file(model))
    return load_script(model);
  const auto inputs = shape_numel(input_shape);
  auto net = make_model(model, inputs, outputs);
  if (!net)
    return std::move(net.error());
  return std::unique_ptr<network>{
    std::make_unique<builtin_network>(std::move(*net))};
}

} // namespace fl
