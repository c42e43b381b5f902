#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/core/span.hpp"

namespace fl {

/// A server-side optimizer (Reddi et al. 2021, "Adaptive Federated
/// Optimization", arXiv:2003.00295): the round's combined model m is turned
/// into a pseudo-gradient delta = m - x and the optimizer decides the next
/// model. Owned by the aggregation actor (one thread); implement it to
/// plug in your own. Its state survives checkpoints through `state()`.
class server_optimizer {
public:
  virtual ~server_optimizer() = default;

  /// e.g. "fedadam(lr=0.01, b1=0.9, b2=0.99, tau=0.001)".
  virtual std::string name() const = 0;

  /// `current` is x_t; `next` holds the combined model on entry and
  /// x_{t+1} on return. Same sizes (checked by the caller).
  virtual void step(span<const float> current, span<float> next) = 0;

  /// Named state vectors (empty before the first step), for checkpoints:
  /// the caller saves them and, on resume, refills them (same names,
  /// sizes 0 or the model's).
  virtual std::vector<std::pair<std::string, std::vector<float>*>> state() {
    return {};
  }
};

/// FedAvgM (Hsu et al. 2019, "Measuring the Effects of Non-Identical Data
/// Distribution for Federated Visual Classification", arXiv:1909.06335):
/// v = beta v + delta; x = x + lr v.
std::unique_ptr<server_optimizer> make_server_momentum(double lr, double beta);

/// The adaptive optimizers of Reddi et al. 2021 (Algorithm 2), with
/// delta = m - x, m_t = b1 m + (1 - b1) delta and, per coordinate,
///   FedAdagrad: v = v + delta^2
///   FedAdam:    v = b2 v + (1 - b2) delta^2
///   FedYogi:    v = v - (1 - b2) delta^2 sign(v - delta^2)
/// then x = x + lr m_t / (sqrt(v) + tau). v starts at tau^2, m at 0, no
/// bias correction (as in the paper).
enum class adaptive_kind : uint8_t { adagrad, adam, yogi };
std::unique_ptr<server_optimizer>
make_adaptive_optimizer(adaptive_kind kind, double lr, double beta1,
                        double beta2, double tau);

} // namespace fl
