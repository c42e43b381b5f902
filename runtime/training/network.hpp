#pragma once

#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <torch/types.h>

namespace fl {

/// A trainable LibTorch model as the torch trainer sees it, whichever way
/// it was defined: a built-in C++ module ("mlp", "cnn") or a TorchScript
/// file exported from PyTorch. Not thread-safe: one per training worker.
class network {
public:
  virtual ~network() = default;

  /// Outputs for a batch of samples shaped [batch, sample shape...].
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;

  /// Training or evaluation behaviour (dropout, batch-norm statistics).
  virtual void set_training(bool on) = 0;

  /// The tensors the optimizer updates.
  virtual std::vector<torch::Tensor> parameters() = 0;

  /// Every tensor that belongs to the flat model, in a fixed order:
  /// the parameters, then (TorchScript) the float32 buffers such as
  /// batch-norm running statistics, which FedAvg averages like weights.
  virtual std::vector<std::pair<std::string, torch::Tensor>> state() = 0;
};

/// What to build: a built-in name ("mlp", "cnn") or the path of a
/// TorchScript file (see `is_model_file` in runtime/core/config.hpp).
/// `input_shape` is one sample's shape and `outputs` the number of classes
/// (or regression targets); the built-in models size their first and last
/// layers from them (the CNN needs 28 x 28 samples).
/// Errors: `invalid_config` (unknown name, shapes a model cannot take,
/// a module without forward or with non-float32 parameters); `io_error`
/// when the file cannot be loaded (with the loader's reason).
caf::expected<std::unique_ptr<network>>
make_network(const std::string& model, const std::vector<int64_t>& input_shape,
             int64_t outputs);

/// The first line of a LibTorch exception's message (the rest is a C++
/// backtrace that means nothing to a user).
std::string torch_error_text(const std::exception& e);


} // namespace fl
