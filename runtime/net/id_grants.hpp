#pragma once

#include <caf/expected.hpp>
#include <string>
#include <vector>

namespace fl::net {

/// Which node ids an identity may join as. A grant is one of:
///   `*`                any id (a relay that forwards its group's joins);
///   `client-0..15`     a prefix followed by an inclusive number range;
///   `server`           exactly that id.
/// Grants come from a certificate (its `urn:fedactor:ids:` SAN entries) or
/// from the access file; an identity without any may use only its own name.
class id_grants {
public:
  /// Errors: `invalid_config` naming the malformed grant (an empty text, a
  /// range whose end is below its start, a range without a prefix).
  static caf::expected<id_grants> parse(const std::vector<std::string>& texts);

  /// Grants exactly `id` (the default for an identity without grants).
  static id_grants only(const std::string& id);

  bool allows(const std::string& node_id) const;

  /// The grants as written, for logs ("client-0..7, server").
  std::string describe() const;

private:
  struct grant {
    std::string prefix; ///< the exact id, or the text before the range
    bool any = false;
    bool range = false;
    unsigned long long first = 0, last = 0;
  };
  std::vector<grant> grants_;
  std::vector<std::string> texts_;
};

} // namespace fl::net
