#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>

#include <caf/error.hpp>

namespace fl {

/// One typed value of a configuration or metrics dictionary. The wire
/// (messages/fl.capnp, ConfigEntry) carries exactly these four types.
using config_value = std::variant<int64_t, double, std::string, bool>;

/// A typed key/value dictionary: what a strategy asks one client to do
/// ("epochs", "lr", "prox_mu", or any key a custom trainer reads) and what a
/// client reports beside its update. Ordered, so that encodings and logs
/// are deterministic.
using config_map = std::map<std::string, config_value>;

/// Limits every config_map obeys (checked by `check_config_map`, which the
/// codec runs on every received dictionary).
constexpr size_t config_max_entries = 64;
constexpr size_t config_max_key_bytes = 64;
constexpr size_t config_max_text_bytes = 1024;

/// Checks the limits above and that keys are 1..64 bytes of [a-z0-9_.-]
/// and reals are finite. `what` names the dictionary in the error.
/// Errors: `invalid_field`, `too_large`, `non_finite_value`.
caf::error check_config_map(const config_map& m, const std::string& what);

/// The value of `key` as a number (an integer or a real), or `fallback`
/// when it is absent. Errors: `invalid_field` when it holds text or a flag.
caf::expected<double> number_or(const config_map& m, const std::string& key,
                                double fallback);

/// The value as text for logs, e.g. `3`, `0.05`, `"adam"`, `true`.
std::string to_string(const config_value& x);

} // namespace fl
