#pragma once

#include <cstdint>
#include <string>

#include <caf/expected.hpp>

namespace fl {

/// Staleness weighting s(t - tau) of FedAsync (Xie, Koyejo, Gupta 2019,
/// arXiv:1903.03934, section 5.2), where `staleness` = t - tau is the number of
/// model versions between the client's base model and the server's current one.
enum class staleness_kind : uint8_t {
  constant,   ///< s = 1
  polynomial, ///< s = (staleness + 1)^(-a)
  hinge,      ///< s = 1 if staleness <= b, else 1 / (a (staleness - b) + 1)
};

std::string to_string(staleness_kind x);

/// Parses "constant", "polynomial" or "hinge".
/// Errors: `invalid_config` for any other text.
caf::expected<staleness_kind> parse_staleness_kind(const std::string& x);

/// A staleness function with its parameters. Value type; cheap to copy.
struct staleness_fn {
  staleness_kind kind = staleness_kind::constant;
  double a = 0.5; ///< exponent (polynomial) or slope (hinge); must be >= 0
  double b = 4;   ///< hinge threshold in versions; must be >= 0

  /// s(staleness) in (0, 1].
  double operator()(uint64_t staleness) const;
};

/// Checks a >= 0 and b >= 0 (and finite).
/// Errors: `invalid_config` naming the bad parameter.
caf::error validate(const staleness_fn& f);

} // namespace fl
