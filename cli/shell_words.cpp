#include "cli/shell_words.hpp"

namespace fl::cli {

std::string shell_quote(const std::string& word) {
  if (!word.empty()
      && word.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                "@%+=:,./_-")
           == std::string::npos)
    return word;
  std::string s = "'";
  for (char ch : word)
    s += ch == '\'' ? std::string{"'\\''"} : std::string{ch};
  return s + "'";
}

std::string shell_join(const std::vector<std::string>& cmd) {
  std::string s;
  for (const auto& word : cmd) {
    if (!s.empty())
      s += ' ';
    s += shell_quote(word);
  }
  return s;
}

} // namespace fl::cli
