#pragma once

#include <string>

#include <caf/error.hpp>

namespace fl {

/// Writes `text` to `path` through a temporary file beside it and a
/// rename, so a reader sees the old file or the whole new one, never a
/// part, and a failed write leaves no partial file.
/// Errors: `io_error` naming the file and the reason.
caf::error write_text_file(const std::string& path, const std::string& text);

} // namespace fl
