#pragma once

#include <memory>
#include <string>

#include <torch/types.h>

#include "runtime/core/flat_model.hpp"
#include "runtime/data/fmnist.hpp"
#include "runtime/training/models.hpp"
#include "runtime/training/trainer.hpp"

namespace fl {

/// Trains a LibTorch classifier on a shared in-memory image dataset with
/// plain SGD (momentum, weight decay and FedProx's proximal term optional).
/// Its parameters are views into one flat buffer, so loading the global
/// model is one memcpy and no flattening is needed afterwards. Uses one
/// torch thread (set on every call, since workers are threads of their own).
class torch_trainer : public trainer {
public:
  /// REQUIRES: `data` outlives nothing in particular: it is shared.
  /// Errors: `invalid_config` for an unknown model name.
  static caf::expected<std::unique_ptr<torch_trainer>>
  make(const std::string& model, std::shared_ptr<const image_dataset> data);

  const model_layout& layout() const override { return flat_.layout(); }
  caf::expected<fit_output> fit(const fit_input& in) override;
  caf::expected<eval_output> evaluate(span<const float> params) override;
  caf::expected<eval_output>
  evaluate_samples(span<const float> params,
                   const std::vector<int64_t>& samples) override;
  std::vector<float> initial_params(uint64_t seed) override;

private:
  /// Loss and accuracy of the loaded model on x, y (batches of 5000).
  eval_output score(const torch::Tensor& x, const torch::Tensor& y);

  torch_trainer(std::string model, std::shared_ptr<classifier> net,
                std::shared_ptr<const image_dataset> data);

  std::string model_;
  std::shared_ptr<classifier> net_;
  flat_model flat_; ///< net_'s parameters live here
  std::shared_ptr<const image_dataset> data_;
  torch::Tensor train_x_, train_y_, test_x_, test_y_; ///< views, no copies
};

} // namespace fl
