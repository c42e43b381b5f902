#pragma once

#include <cstdint>
#include <vector>

#include "runtime/core/span.hpp"

namespace fl::gossip {

/// Push-sum state of one peer (Kempe et al. 2003; stochastic gradient
/// push, Assran et al. 2019): a numerator x and a weight w whose ratio
/// z = x / w is the peer's model. Sending a share moves x and w together,
/// so over all peers (and messages in flight) sum(x) and sum(w) never
/// change: the estimates converge to the plain average of what the peers
/// put in, however late messages arrive.
class push_sum {
public:
  push_sum() = default;
  explicit push_sum(std::vector<float> initial, double weight = 1.0);

  /// A share received from a neighbor: x += values, w += weight.
  /// REQUIRES: values.size() == size().
  void absorb(span<const float> values, double weight);

  /// Local training moved the model from `start` to `trained`: x moves by
  /// w * (trained - start), so z moves by exactly that change.
  void apply_change(span<const float> start, span<const float> trained);

  /// Keeps share `keep` of x and w and returns each out-share (x * f, w * f)
  /// for the fractions `out`. REQUIRES: keep + sum(out) == 1.
  std::vector<std::pair<std::vector<float>, double>>
  split(double keep, const std::vector<double>& out);

  /// The model z = x / w (a new buffer).
  std::vector<float> estimate() const;

  span<const float> numerator() const { return x_; }
  double weight() const noexcept { return w_; }
  size_t size() const noexcept { return x_.size(); }

private:
  std::vector<float> x_;
  double w_ = 1;
};

/// The peers' average model and how far they are from it.
struct consensus {
  std::vector<float> mean;
  /// Mean over the peers of the L2 distance ||x_i - mean||.
  double distance = 0;
};

/// REQUIRES: at least one model; all of one size.
consensus consensus_of(const std::vector<span<const float>>& models);

/// L2 distance between two models of one size.
double l2_distance(span<const float> a, span<const float> b);

} // namespace fl::gossip
