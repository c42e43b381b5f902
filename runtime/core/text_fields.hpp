#pragma once

// Reading comma-separated text: shared by the dataset CSV reader and the
// client trace reader.

#include <string>
#include <vector>

namespace fl {

/// `x` without surrounding blanks (space, tab, CR) and one pair of
/// enclosing double quotes.
std::string trim_field(const std::string& x);

/// The comma-separated fields of `line`, each trimmed.
std::vector<std::string> split_fields(const std::string& line,
                                      char separator = ',');

/// Parses all of `text` as a finite number; false if anything is left over,
/// it is empty, or not finite.
bool parse_number(const std::string& text, double& out);

} // namespace fl
