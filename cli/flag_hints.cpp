#include "cli/flag_hints.hpp"

#include <algorithm>

namespace fl::cli {

namespace {

/// Every long flag of `cmd`, with its leading dashes.
std::vector<std::string> long_flags(const CLI::App& cmd) {
  std::vector<std::string> out;
  for (const auto* opt : cmd.get_options())
    for (const auto& name : opt->get_lnames())
      out.push_back("--" + name);
  return out;
}

bool has_flag(const CLI::App& cmd, const std::string& flag) {
  auto flags = long_flags(cmd);
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

/// Subcommands of `root` (and their own subcommands) that have `flag`,
/// written as "`fl-node a`".
std::vector<std::string> commands_with(const CLI::App& root,
                                       const CLI::App& except,
                                       const std::string& flag,
                                       const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto* sub : root.get_subcommands({})) {
    const auto path = prefix + " " + sub->get_name();
    if (sub != &except && has_flag(*sub, flag))
      out.push_back("`" + path + "`");
    auto nested = commands_with(*sub, except, flag, path);
    out.insert(out.end(), nested.begin(), nested.end());
  }
  return out;
}

std::string join_or(const std::vector<std::string>& xs) {
  std::string s;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      s += i + 1 == xs.size() ? " and " : ", ";
    s += xs[i];
  }
  return s;
}

/// The flag of `cmd` nearest to `typed`, or "" when none is close: within
/// a third of the typed length (at least 2 edits), or one that starts with
/// what was typed.
std::string nearest_flag(const CLI::App& cmd, const std::string& typed) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, (typed.size() - 2) / 3) + 1;
  for (const auto& flag : long_flags(cmd)) {
    auto d = edit_distance(typed, flag);
    if (flag.rfind(typed, 0) == 0 && typed.size() >= 4)
      d = std::min<size_t>(d, 1);
    if (d < best_distance) {
      best_distance = d;
      best = flag;
    }
  }
  return best;
}

} // namespace

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string explain_unexpected(const CLI::App& root, const CLI::App& cmd,
                               const std::vector<std::string>& extras) {
  std::string name = cmd.get_name();
  for (auto* up = cmd.get_parent(); up != nullptr; up = up->get_parent())
    name = up->get_name() + " " + name;
  std::string out;
  bool after_unknown_flag = false;
  for (const auto& arg : extras) {
    if (arg.size() < 2 || arg[0] != '-') {
      if (!after_unknown_flag)
        out += "unexpected argument '" + arg + "' for `" + name + "`\n";
      after_unknown_flag = false;
      continue;
    }
    after_unknown_flag = true;
    auto flag = arg.substr(0, arg.find('='));
    if (flag.rfind("--", 0) != 0) {
      out += "unknown flag " + flag + " for `" + name + "`\n";
      continue;
    }
    auto owners = commands_with(root, cmd, flag, root.get_name());
    if (!owners.empty()) {
      out += flag + " is a flag of " + join_or(owners) + ", not of `" + name
             + "`\n";
      continue;
    }
    out += "unknown flag " + flag + " for `" + name + "`";
    auto near = nearest_flag(cmd, flag);
    if (!near.empty())
      out += "; did you mean " + near + "?";
    out += "\n";
  }
  return out + "Run `" + name + " --help` for its flags.";
}

} // namespace fl::cli
