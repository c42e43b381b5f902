#pragma once

#include <memory>
#include <string>

#include <torch/types.h>

#include "runtime/core/flat_model.hpp"
#include "runtime/data/dataset.hpp"
#include "runtime/training/network.hpp"
#include "runtime/training/trainer.hpp"

namespace fl {

/// What a torch trainer trains.
struct torch_model_spec {
  /// A built-in model ("mlp", "cnn") or a TorchScript file (see
  /// `make_network`).
  std::string model = "mlp";
  /// "cross-entropy" (classification), "mse" (regression) or "auto" (the
  /// one that fits the dataset's task).
  std::string loss = "auto";
};

/// Trains a LibTorch model on a shared in-memory dataset with plain SGD
/// (momentum, weight decay and FedProx's proximal term optional).
/// Its parameters (and a TorchScript module's float buffers) are views
/// into one flat buffer, so loading the global model is one memcpy and no
/// flattening is needed afterwards. Uses one torch thread (set on every
/// call, since workers are threads of their own).
///
/// Metrics: classification reports accuracy; regression reports the
/// coefficient of determination R^2 (1 - squared error / variance of the
/// targets) as its "accuracy", so `--target-accuracy` works for both.
class torch_trainer : public trainer {
public:
  /// Builds the model and checks it on two training samples: the output
  /// must be [batch, classes >= num_classes] for a classification and
  /// [batch, targets] (or [batch] for one target) for a regression.
  /// Errors: `invalid_config` (unknown model or loss, a loss that does not
  /// fit the task, a forward that fails or gives the wrong shape: with the
  /// shapes involved); `io_error` when a TorchScript file cannot be loaded.
  static caf::expected<std::unique_ptr<torch_trainer>>
  make(const torch_model_spec& spec, std::shared_ptr<const dataset> data);

  const model_layout& layout() const override { return flat_.layout(); }
  caf::expected<fit_output> fit(const fit_input& in) override;
  caf::expected<eval_output> evaluate(span<const float> params) override;
  caf::expected<eval_output>
  evaluate_samples(span<const float> params,
                   const std::vector<int64_t>& samples) override;
  /// A built-in model's seeded initialisation; a TorchScript model's
  /// values as stored in its file (the seed is not used).
  std::vector<float> initial_params(uint64_t seed) override;

private:
  /// The loss follows from the task (checked in make): cross-entropy for
  /// a classification, MSE for a regression.
  torch_trainer(std::string model, std::unique_ptr<network> net,
                std::shared_ptr<const dataset> data);

  caf::expected<fit_output> fit_checked(const fit_input& in);

  /// Loss and accuracy (or R^2) of the loaded model on x, y.
  eval_output score(const torch::Tensor& x, const torch::Tensor& y);

  /// Mean loss of a batch.
  torch::Tensor loss_of(const torch::Tensor& out, const torch::Tensor& y);

  int64_t outputs() const;

  std::string model_; ///< the built-in name or TorchScript path
  std::unique_ptr<network> net_;
  flat_model flat_; ///< net_'s parameters live here
  std::shared_ptr<const dataset> data_;
  bool regression_ = false;
  torch::Tensor train_x_, train_y_, test_x_, test_y_; ///< views, no copies
};

} // namespace fl
