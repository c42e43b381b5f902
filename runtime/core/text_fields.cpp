#include "runtime/core/text_fields.hpp"

#include <cmath>
#include <cstdlib>

namespace fl {

std::string trim_field(const std::string& x) {
  auto first = x.find_first_not_of(" \t\r");
  if (first == std::string::npos)
    return {};
  auto last = x.find_last_not_of(" \t\r");
  auto out = x.substr(first, last - first + 1);
  if (out.size() >= 2 && out.front() == '"' && out.back() == '"')
    out = out.substr(1, out.size() - 2);
  return out;
}

std::vector<std::string> split_fields(const std::string& line,
                                      char separator) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    auto next = line.find(separator, start);
    out.push_back(trim_field(line.substr(start, next - start)));
    if (next == std::string::npos)
      return out;
    start = next + 1;
  }
}

bool parse_number(const std::string& text, double& out) {
  if (text.empty())
    return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(out);
}

} // namespace fl
