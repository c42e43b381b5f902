#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "runtime/core/span.hpp"

namespace fl {

/// SCAFFOLD's control variates (Karimireddy et al. 2020, "SCAFFOLD:
/// Stochastic Controlled Averaging for Federated Learning",
/// arXiv:1910.06378, Algorithm 1 with option II), kept on the server so
/// that they survive rounds, client restarts and checkpoints:
///
///   client i trains with  y <- y - lr (g(y) + c - c_i)   (K local steps)
///   c_i+ = c_i - c + (x - y_i) / (K lr)
///   c   <- c + (1 / N) sum_{i in S} (c_i+ - c_i)         (N: all clients)
///
/// The model itself moves by the weighted mean of y_i - x as in FedAvg. A
/// client never seen has c_i = 0 (no memory is spent on it). Memory:
/// (1 + clients that took part + clients of the round) x model.
class control_variates {
public:
  /// `numel` values per variate; `clients` is N (>= 1).
  control_variates(uint64_t numel, uint64_t clients);

  /// out = c - c_i, the correction client `id` adds to every gradient.
  /// REQUIRES: out.size() == numel().
  void correction(const std::string& id, span<float> out) const;

  /// Visits the update delta y_i - x of client `id` in blocks
  /// (f(offset, values) covering [0, numel)) after `local_steps` steps of
  /// `lr`, and stages its new c_i (committed by `commit`). Errors:
  /// `invalid_field` for steps or lr <= 0, `size_mismatch`.
  using delta_visitor = std::function<void(
    const std::function<void(uint64_t, span<const float>)>&)>;
  caf::error absorb(const std::string& id, uint64_t local_steps, double lr,
                    const delta_visitor& visit_delta);

  /// The round was accepted: staged c_i become current and c moves by the
  /// sum of their changes / N.
  void commit();

  /// The round was not accepted: staged c_i are dropped.
  void discard();

  uint64_t numel() const { return numel_; }
  const std::vector<float>& global() const { return c_; }
  const std::map<std::string, std::vector<float>>& clients() const {
    return ci_;
  }

  /// Restores c and the clients' c_i (from a checkpoint). Errors:
  /// `size_mismatch`.
  caf::error restore(std::vector<float> c,
                     std::map<std::string, std::vector<float>> ci);

private:
  uint64_t numel_;
  uint64_t clients_;
  std::vector<float> c_;
  std::map<std::string, std::vector<float>> ci_;
  std::map<std::string, std::vector<float>> staged_;
};

} // namespace fl
