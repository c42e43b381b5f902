#include "runtime/training/models.hpp"

#include <torch/torch.h>

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

class mlp : public classifier {
public:
  mlp(int64_t inputs, int64_t classes) : inputs_(inputs) {
    fc1_ = register_module("fc1", torch::nn::Linear(inputs, 200));
    fc2_ = register_module("fc2", torch::nn::Linear(200, 200));
    fc3_ = register_module("fc3", torch::nn::Linear(200, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = x.reshape({x.size(0), inputs_});
    x = torch::relu(fc1_->forward(x));
    x = torch::relu(fc2_->forward(x));
    return fc3_->forward(x);
  }

private:
  int64_t inputs_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
};

class cnn : public classifier {
public:
  explicit cnn(int64_t classes) {
    conv1_ = register_module(
      "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 5).padding(2)));
    conv2_ = register_module(
      "conv2",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 5).padding(2)));
    fc1_ = register_module("fc1", torch::nn::Linear(64 * 7 * 7, 512));
    fc2_ = register_module("fc2", torch::nn::Linear(512, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = x.reshape({x.size(0), 1, 28, 28});
    x = torch::max_pool2d(torch::relu(conv1_->forward(x)), 2);
    x = torch::max_pool2d(torch::relu(conv2_->forward(x)), 2);
    x = x.view({x.size(0), 64 * 7 * 7});
    x = torch::relu(fc1_->forward(x));
    return fc2_->forward(x);
  }

private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

} // namespace

caf::expected<std::shared_ptr<classifier>>
make_model(const std::string& name, int64_t inputs, int64_t classes) {
  if (inputs < 1 || classes < 1)
    return make_fl_error(errc::invalid_config,
                         "a model needs at least one input and one output");
  if (name == "mlp")
    return std::shared_ptr<classifier>{std::make_shared<mlp>(inputs, classes)};
  if (name == "cnn") {
    if (inputs != 28 * 28)
      return make_fl_error(errc::invalid_config,
                           "the cnn model takes 28 x 28 images, the data has "
                             + std::to_string(inputs)
                             + " features per sample (use mlp or a "
                               "TorchScript model)");
    return std::shared_ptr<classifier>{std::make_shared<cnn>(classes)};
  }
  return make_fl_error(errc::invalid_config,
                       "unknown model '" + name
                         + "' (expected mlp, cnn or the path of a "
                           "TorchScript file)");
}

} // namespace fl
