#pragma once

#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <torch/nn/module.h>
#include <torch/types.h>

namespace fl {

/// A built-in classifier: [batch, features...] -> logits.
class classifier : public torch::nn::Module {
public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

/// Builds a built-in model by name, initialised from torch's global RNG,
/// for samples of `inputs` features and `classes` classes:
///   "mlp": inputs-200-200-classes with ReLU (FedAvg paper's 2NN; 784-200-
///          200-10 on Fashion-MNIST);
///   "cnn": FedAvg paper's CNN on 28 x 28 images: conv5x5(32) - pool -
///          conv5x5(64) - pool - fc 512 - fc classes, ReLU.
/// Errors: `invalid_config` for another name or a CNN on other inputs.
caf::expected<std::shared_ptr<classifier>>
make_model(const std::string& name, int64_t inputs = 784, int64_t classes = 10);

} // namespace fl
