#include "runtime/aggregation/control_variates.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "runtime/core/errors.hpp"

namespace fl {

control_variates::control_variates(uint64_t numel, uint64_t clients)
  : numel_(numel), clients_(std::max<uint64_t>(clients, 1)), c_(numel, 0.0f) {}

void control_variates::correction(const std::string& id,
                                  span<float> out) const {
  auto i = ci_.find(id);
  for (size_t j = 0; j < numel_; ++j)
    out[j] = c_[j] - (i != ci_.end() ? i->second[j] : 0.0f);
}

caf::error control_variates::absorb(const std::string& id,
                                    uint64_t local_steps, double lr,
                                    const delta_visitor& visit_delta) {
  if (local_steps == 0 || !(lr > 0) || !std::isfinite(lr))
    return make_fl_error(errc::invalid_field,
                         fmt::format("SCAFFOLD needs local steps and a "
                                     "learning rate > 0 from {} (got {} "
                                     "steps, lr {})",
                                     id, local_steps, lr));
  std::vector<float> next(numel_);
  auto old = ci_.find(id);
  const double scale = 1.0 / (static_cast<double>(local_steps) * lr);
  uint64_t covered = 0;
  visit_delta([&](uint64_t first, span<const float> dy) {
    for (size_t k = 0; k < dy.size() && first + k < numel_; ++k) {
      const size_t j = first + k;
      const double ci = old != ci_.end() ? old->second[j] : 0.0;
      // c_i+ = c_i - c + (x - y_i) / (K lr), with dy = y_i - x.
      next[j] = static_cast<float>(ci - c_[j] - dy[k] * scale);
    }
    covered += dy.size();
  });
  if (covered != numel_)
    return make_fl_error(errc::size_mismatch,
                         "SCAFFOLD: the delta does not cover the model");
  staged_[id] = std::move(next);
  return caf::none;
}

void control_variates::commit() {
  const double inv_n = 1.0 / static_cast<double>(clients_);
  std::vector<double> change(numel_, 0.0);
  for (auto& [id, next] : staged_) {
    auto old = ci_.find(id);
    for (size_t j = 0; j < numel_; ++j)
      change[j] += next[j] - (old != ci_.end() ? old->second[j] : 0.0f);
    ci_[id] = std::move(next);
  }
  staged_.clear();
  for (size_t j = 0; j < numel_; ++j)
    c_[j] = static_cast<float>(c_[j] + change[j] * inv_n);
}

void control_variates::discard() {
  staged_.clear();
}

caf::error control_variates::restore(
  std::vector<float> c, std::map<std::string, std::vector<float>> ci) {
  if (c.size() != numel_)
    return make_fl_error(errc::size_mismatch,
                         "SCAFFOLD state does not match the model");
  for (const auto& [id, v] : ci)
    if (v.size() != numel_)
      return make_fl_error(errc::size_mismatch,
                           "SCAFFOLD state of " + id
                             + " does not match the model");
  c_ = std::move(c);
  ci_ = std::move(ci);
  staged_.clear();
  return caf::none;
}

} // namespace fl
