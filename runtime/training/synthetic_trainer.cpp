#include "runtime/training/synthetic_trainer.hpp"

#include <algorithm>
#include <random>

#include "runtime/core/errors.hpp"

namespace fl {

synthetic_trainer::synthetic_trainer(uint64_t numel) {
  auto n = std::max<uint64_t>(numel, 2);
  layout_.add("synthetic.weight", {static_cast<int64_t>(n - n / 4)});
  layout_.add("synthetic.bias", {static_cast<int64_t>(n / 4)});
}

caf::expected<fit_output> synthetic_trainer::fit(const fit_input& in) {
  if (in.global.size() != layout_.numel())
    return make_fl_error(errc::size_mismatch,
                         "global model has " + std::to_string(in.global.size())
                           + " elements, expected "
                           + std::to_string(layout_.numel()));
  if (!in.samples || in.samples->empty())
    return make_fl_error(errc::invalid_field, "client has no samples");
  const float target
    = 0.5f + 0.1f * (static_cast<float>(in.samples->front() % 21) - 10) / 10;
  const auto lr = static_cast<float>(std::min(in.config.lr, 1.0));
  auto params = std::make_shared<std::vector<float>>(in.global.begin(),
                                                     in.global.end());
  double loss = 0;
  const bool corrected = in.control.size() == params->size();
  for (int64_t e = 0; e < in.config.epochs; ++e) {
    double sq = 0;
    auto& w = *params;
    for (size_t i = 0; i < w.size(); ++i) {
      const float d = w[i] - target;
      sq += static_cast<double>(d) * d;
      // The gradient of 1/2 (w - t)^2 (+ SCAFFOLD's correction).
      w[i] -= lr * (d + (corrected ? in.control[i] : 0.0f));
    }
    loss = sq / (2.0 * static_cast<double>(params->size()));
  }
  fit_output out;
  out.params = std::move(params);
  out.num_samples = in.samples->size();
  out.metrics.loss = loss;
  out.metrics.accuracy = 1.0 / (1.0 + loss);
  out.metrics.local_steps = static_cast<uint64_t>(in.config.epochs);
  out.extra["target"] = static_cast<double>(target); // its own metric
  return out;
}

caf::expected<eval_output>
synthetic_trainer::evaluate_samples(span<const float> p,
                                    const std::vector<int64_t>& samples) {
  if (p.size() != layout_.numel())
    return make_fl_error(errc::size_mismatch, "model has the wrong size");
  if (samples.empty())
    return make_fl_error(errc::invalid_field, "no held-out samples");
  // The client's own objective: the distance to its target.
  const float target
    = 0.5f + 0.1f * (static_cast<float>(samples.front() % 21) - 10) / 10;
  double sq = 0;
  for (auto w : p)
    sq += (static_cast<double>(w) - target) * (static_cast<double>(w) - target);
  eval_output out;
  out.num_samples = samples.size();
  out.loss = sq / static_cast<double>(p.size());
  out.accuracy = 1.0 / (1.0 + out.loss);
  return out;
}

caf::expected<eval_output> synthetic_trainer::evaluate(span<const float> p) {
  if (p.size() != layout_.numel())
    return make_fl_error(errc::size_mismatch, "model has the wrong size");
  double sq = 0;
  for (auto w : p)
    sq += (static_cast<double>(w) - 0.5) * (static_cast<double>(w) - 0.5);
  eval_output out;
  out.num_samples = 1;
  out.loss = sq / static_cast<double>(p.size());
  out.accuracy = 1.0 / (1.0 + out.loss);
  return out;
}

std::vector<float> synthetic_trainer::initial_params(uint64_t seed) {
  std::mt19937_64 rng{seed};
  std::uniform_real_distribution<float> dist{-1.f, 1.f};
  std::vector<float> xs(layout_.numel());
  for (auto& x : xs)
    x = dist(rng);
  return xs;
}

} // namespace fl
