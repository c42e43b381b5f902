#pragma once

#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <torch/nn/module.h>
#include <torch/types.h>

namespace fl {

/// An image classifier: [batch, 1, 28, 28] (or [batch, 784]) -> logits.
class classifier : public torch::nn::Module {
public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

/// Builds a model by name, initialised from torch's global RNG:
///   "mlp": 784-200-200-10 with ReLU (FedAvg paper's 2NN);
///   "cnn": FedAvg paper's CNN: conv5x5(32) - pool - conv5x5(64) - pool -
///          fc 512 - fc 10, ReLU.
/// Errors: `invalid_config` for another name.
caf::expected<std::shared_ptr<classifier>> make_model(const std::string& name);

} // namespace fl
