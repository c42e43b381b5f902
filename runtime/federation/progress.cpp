#include "runtime/federation/progress.hpp"

#include <algorithm>
#include <cstdio>

namespace fl {

std::optional<double> eta_seconds(const run_progress& p) {
  std::optional<double> eta;
  const auto here = p.done > p.offset ? p.done - p.offset : 0;
  if (p.total > p.done && here > 0 && p.elapsed_s > 0) {
    const double rate = static_cast<double>(here) / p.elapsed_s;
    eta = static_cast<double>(p.total - p.done) / rate;
  } else if (p.total > 0 && p.done >= p.total) {
    eta = 0.0;
  }
  if (p.max_seconds > 0) {
    const double left = std::max(0.0, p.max_seconds - p.elapsed_s);
    eta = eta ? std::min(*eta, left) : left;
  }
  return eta;
}

std::string progress_text(const run_progress& p) {
  char buf[256];
  std::string s = p.unit + " " + std::to_string(p.done);
  if (p.total > 0) {
    s += "/" + std::to_string(p.total);
    std::snprintf(buf, sizeof(buf), " (%.0f%%)",
                  100.0 * static_cast<double>(std::min(p.done, p.total))
                    / static_cast<double>(p.total));
    s += buf;
  }
  if (p.round_expected > 0)
    s += " | " + p.unit + " " + std::to_string(p.current) + ": "
         + std::to_string(p.round_in) + "/"
         + std::to_string(p.round_expected) + " in";
  if (p.accuracy) {
    std::snprintf(buf, sizeof(buf), " | acc %.4f", *p.accuracy);
    s += buf;
  }
  const auto here = p.done > p.offset ? p.done - p.offset : 0;
  if (here > 0 && p.elapsed_s > 0) {
    std::snprintf(buf, sizeof(buf), " | %.2f %ss/s",
                  static_cast<double>(here) / p.elapsed_s, p.unit.c_str());
    s += buf;
  }
  std::snprintf(buf, sizeof(buf), " | %.1f s", p.elapsed_s);
  s += buf;
  if (auto eta = eta_seconds(p)) {
    std::snprintf(buf, sizeof(buf), " | ETA %.1f s", *eta);
    s += buf;
  }
  return s;
}

} // namespace fl
