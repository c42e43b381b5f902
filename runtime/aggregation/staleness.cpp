#include "runtime/aggregation/staleness.hpp"

#include <cmath>

#include "runtime/core/errors.hpp"

namespace fl {

std::string to_string(staleness_kind x) {
  switch (x) {
    case staleness_kind::constant: return "constant";
    case staleness_kind::polynomial: return "polynomial";
    case staleness_kind::hinge: return "hinge";
  }
  return "unknown";
}

caf::expected<staleness_kind> parse_staleness_kind(const std::string& x) {
  if (x == "constant")
    return staleness_kind::constant;
  if (x == "polynomial")
    return staleness_kind::polynomial;
  if (x == "hinge")
    return staleness_kind::hinge;
  return make_fl_error(errc::invalid_config,
                       "unknown staleness function '" + x
                         + "' (expected constant, polynomial or hinge)");
}

double staleness_fn::operator()(uint64_t staleness) const {
  const auto s = static_cast<double>(staleness);
  switch (kind) {
    case staleness_kind::constant:
      return 1.0;
    case staleness_kind::polynomial:
      return std::pow(s + 1.0, -a);
    case staleness_kind::hinge:
      return s <= b ? 1.0 : 1.0 / (a * (s - b) + 1.0);
  }
  return 1.0;
}

caf::error validate(const staleness_fn& f) {
  if (!std::isfinite(f.a) || f.a < 0)
    return make_fl_error(errc::invalid_config,
                         "staleness parameter a must be >= 0, got "
                           + std::to_string(f.a));
  if (!std::isfinite(f.b) || f.b < 0)
    return make_fl_error(errc::invalid_config,
                         "staleness parameter b must be >= 0, got "
                           + std::to_string(f.b));
  return caf::none;
}

} // namespace fl
