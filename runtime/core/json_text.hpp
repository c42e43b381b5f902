#pragma once

#include <string>

namespace fl {

/// Escapes `x` as a JSON string literal, quotes included. The escapes used
/// (\" \\ \n \t \r \u00XX) are also valid in a TOML basic string.
std::string json_quote(const std::string& x);

} // namespace fl
