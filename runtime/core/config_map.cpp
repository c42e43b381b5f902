#include "runtime/core/config_map.hpp"

#include <cmath>

#include <caf/expected.hpp>
#include <fmt/format.h>

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

bool valid_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
         || c == '.' || c == '-';
}

} // namespace

caf::error check_config_map(const config_map& m, const std::string& what) {
  if (m.size() > config_max_entries)
    return make_fl_error(errc::too_large,
                         fmt::format("{} has {} entries, at most {}", what,
                                     m.size(), config_max_entries));
  for (const auto& [key, value] : m) {
    if (key.empty() || key.size() > config_max_key_bytes)
      return make_fl_error(errc::invalid_field,
                           fmt::format("{}: a key has {} bytes (1..{})", what,
                                       key.size(), config_max_key_bytes));
    for (char c : key)
      if (!valid_key_char(c))
        return make_fl_error(errc::invalid_field,
                             fmt::format("{}: key '{}' has a character "
                                         "outside [a-z0-9_.-]",
                                         what, key));
    if (auto* d = std::get_if<double>(&value); d && !std::isfinite(*d))
      return make_fl_error(errc::non_finite_value,
                           fmt::format("{}: {} is not finite", what, key));
    if (auto* s = std::get_if<std::string>(&value);
        s && s->size() > config_max_text_bytes)
      return make_fl_error(errc::too_large,
                           fmt::format("{}: {} has {} bytes of text", what,
                                       key, s->size()));
  }
  return caf::none;
}

caf::expected<double> number_or(const config_map& m, const std::string& key,
                                double fallback) {
  auto i = m.find(key);
  if (i == m.end())
    return fallback;
  if (auto* n = std::get_if<int64_t>(&i->second))
    return static_cast<double>(*n);
  if (auto* d = std::get_if<double>(&i->second))
    return *d;
  return make_fl_error(errc::invalid_field,
                       "config " + key + " is not a number: "
                         + to_string(i->second));
}

std::string to_string(const config_value& x) {
  if (auto* n = std::get_if<int64_t>(&x))
    return std::to_string(*n);
  if (auto* d = std::get_if<double>(&x))
    return fmt::format("{}", *d);
  if (auto* b = std::get_if<bool>(&x))
    return *b ? "true" : "false";
  return "\"" + std::get<std::string>(x) + "\"";
}

} // namespace fl
