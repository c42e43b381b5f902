#include "runtime/net/id_grants.hpp"

#include "runtime/core/errors.hpp"

#include <cctype>

namespace fl::net {

namespace {

bool all_digits(const std::string& s) {
  if (s.empty() || s.size() > 18)
    return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

} // namespace

caf::expected<id_grants>
id_grants::parse(const std::vector<std::string>& texts) {
  id_grants out;
  for (const auto& t : texts) {
    auto bad = [&](const std::string& why) {
      return make_fl_error(errc::invalid_config,
                           "node id grant '" + t + "': " + why);
    };
    if (t.empty() || t.size() > 256)
      return bad("must be 1 to 256 characters");
    grant g;
    if (t == "*") {
      g.any = true;
    } else if (auto dots = t.find(".."); dots != std::string::npos) {
      // prefix + first .. last, e.g. client-0..15
      auto last = t.substr(dots + 2);
      auto head = t.substr(0, dots);
      auto digits = head.size();
      while (digits > 0
             && std::isdigit(static_cast<unsigned char>(head[digits - 1])))
        --digits;
      auto first = head.substr(digits);
      if (!all_digits(first) || !all_digits(last))
        return bad("a range reads PREFIX<first>..<last>, e.g. client-0..15");
      if (digits == 0)
        return bad("a range needs a prefix, e.g. client-0..15");
      g.range = true;
      g.prefix = head.substr(0, digits);
      g.first = std::stoull(first);
      g.last = std::stoull(last);
      if (g.last < g.first)
        return bad("the range ends before it starts");
    } else {
      g.prefix = t;
    }
    out.grants_.push_back(std::move(g));
    out.texts_.push_back(t);
  }
  return out;
}

id_grants id_grants::only(const std::string& id) {
  id_grants out;
  grant g;
  g.prefix = id;
  out.grants_.push_back(std::move(g));
  out.texts_.push_back(id);
  return out;
}

bool id_grants::allows(const std::string& node_id) const {
  for (const auto& g : grants_) {
    if (g.any)
      return true;
    if (!g.range) {
      if (node_id == g.prefix)
        return true;
      continue;
    }
    if (node_id.size() <= g.prefix.size()
        || node_id.compare(0, g.prefix.size(), g.prefix) != 0)
      continue;
    auto number = node_id.substr(g.prefix.size());
    // "client-007" is not client 7: ids are compared as the roster writes
    // them, without leading zeros.
    if (!all_digits(number) || (number.size() > 1 && number[0] == '0'))
      continue;
    auto n = std::stoull(number);
    if (n >= g.first && n <= g.last)
      return true;
  }
  return false;
}

std::string id_grants::describe() const {
  std::string out;
  for (const auto& t : texts_) {
    if (!out.empty())
      out += ", ";
    out += t;
  }
  return out.empty() ? "(none)" : out;
}

} // namespace fl::net
