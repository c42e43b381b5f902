#include "runtime/gossip/mixing.hpp"

#include <cmath>

namespace fl::gossip {

push_sum::push_sum(std::vector<float> initial, double weight)
  : x_(std::move(initial)), w_(weight) {
  for (auto& v : x_)
    v = static_cast<float>(v * weight);
}

void push_sum::absorb(span<const float> values, double weight) {
  float* x = x_.data();
  for (size_t k = 0; k < x_.size(); ++k)
    x[k] += values[k];
  w_ += weight;
}

void push_sum::apply_change(span<const float> start,
                            span<const float> trained) {
  const auto w = static_cast<float>(w_);
  for (size_t k = 0; k < x_.size(); ++k)
    x_[k] += w * (trained[k] - start[k]);
}

std::vector<std::pair<std::vector<float>, double>>
push_sum::split(double keep, const std::vector<double>& out) {
  std::vector<std::pair<std::vector<float>, double>> shares;
  shares.reserve(out.size());
  for (auto f : out) {
    std::vector<float> part(x_.size());
    const auto g = static_cast<float>(f);
    for (size_t k = 0; k < x_.size(); ++k)
      part[k] = g * x_[k];
    shares.emplace_back(std::move(part), w_ * f);
  }
  const auto g = static_cast<float>(keep);
  for (auto& v : x_)
    v *= g;
  w_ *= keep;
  return shares;
}

std::vector<float> push_sum::estimate() const {
  std::vector<float> z(x_.size());
  const double inv = 1.0 / w_;
  for (size_t k = 0; k < x_.size(); ++k)
    z[k] = static_cast<float>(x_[k] * inv);
  return z;
}

double l2_distance(span<const float> a, span<const float> b) {
  double sum = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    double d = static_cast<double>(a[k]) - b[k];
    sum += d * d;
  }
  return std::sqrt(sum);
}

consensus consensus_of(const std::vector<span<const float>>& models) {
  consensus c;
  const auto n = models.size();
  std::vector<double> sum(models.front().size(), 0.0);
  for (const auto& m : models)
    for (size_t k = 0; k < sum.size(); ++k)
      sum[k] += m[k];
  c.mean.resize(sum.size());
  for (size_t k = 0; k < sum.size(); ++k)
    c.mean[k] = static_cast<float>(sum[k] / static_cast<double>(n));
  for (const auto& m : models)
    c.distance += l2_distance(m, c.mean);
  c.distance /= static_cast<double>(n);
  return c;
}

} // namespace fl::gossip
