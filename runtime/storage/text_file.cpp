#include "runtime/storage/text_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "runtime/core/errors.hpp"

namespace fl {

caf::error write_text_file(const std::string& path, const std::string& text) {
  const auto tmp = path + ".tmp";
  auto fail = [&](const std::string& what) {
    auto err = make_fl_error(errc::io_error, "cannot " + what + " '" + path
                                               + "': " + std::strerror(errno));
    std::remove(tmp.c_str());
    return err;
  };
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr)
    return fail("write");
  const bool written = std::fwrite(text.data(), 1, text.size(), f)
                         == text.size();
  if (std::fclose(f) != 0 || !written)
    return fail("write");
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return fail("replace");
  return caf::none;
}

} // namespace fl
