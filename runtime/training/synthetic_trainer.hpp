#pragma once

#include "runtime/training/trainer.hpp"

namespace fl {

/// A trainer without LibTorch or data files, for smoke runs, tests and
/// server benchmarks with models of any size. Each client minimises the
/// quadratic 1/2 ||w - t_c||^2, where its target t_c = 0.5 + a small offset
/// derived from its first sample index; `evaluate` reports the mean squared
/// distance to 0.5, so federated averaging visibly lowers the loss.
/// A fit costs O(model size): `epochs` gradient steps of size `lr`. It
/// reports its target as an extra metric ("target").
class synthetic_trainer : public trainer {
public:
  /// A model of `numel` floats split over two layers (`numel` >= 2).
  explicit synthetic_trainer(uint64_t numel);

  const model_layout& layout() const override { return layout_; }
  caf::expected<fit_output> fit(const fit_input& in) override;
  caf::expected<eval_output> evaluate(span<const float> params) override;
  caf::expected<eval_output>
  evaluate_samples(span<const float> params,
                   const std::vector<int64_t>& samples) override;
  std::vector<float> initial_params(uint64_t seed) override;

private:
  model_layout layout_;
};

} // namespace fl
