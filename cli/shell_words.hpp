#pragma once

#include <string>
#include <vector>

namespace fl::cli {

/// `word` as one POSIX shell word: unchanged when it holds nothing the
/// shell would interpret, else in single quotes.
std::string shell_quote(const std::string& word);

/// The words of `cmd`, each quoted, joined by spaces.
std::string shell_join(const std::vector<std::string>& cmd);

} // namespace fl::cli
