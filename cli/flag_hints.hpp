#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace fl::cli {

/// Levenshtein distance between `a` and `b` (insertions, deletions and
/// substitutions cost 1).
size_t edit_distance(const std::string& a, const std::string& b);

/// The message for arguments that `cmd` (a subcommand of `root`) did not
/// expect, one line per unknown flag: when another subcommand has the
/// flag, which one ("--upstream is a flag of `fl-node client` and
/// `fl-node scheduler`, not of `fl-node server`"); otherwise the nearest
/// flag of `cmd` when one is close ("unknown flag --round; did you mean
/// --rounds?"). Values after an unknown flag are not reported on their own.
std::string explain_unexpected(const CLI::App& root, const CLI::App& cmd,
                               const std::vector<std::string>& extras);

} // namespace fl::cli
