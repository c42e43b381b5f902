#pragma once

#include <cstdint>
#include <string>

#include <caf/expected.hpp>

#include "runtime/core/flat_model.hpp"

namespace fl {

/// What a server needs to resume: the global model and where it was.
struct checkpoint {
  flat_model model;
  uint64_t model_version = 0;
  uint64_t round = 0;
};

/// Writes `model` atomically to `path`: a temp file in the same folder is
/// written, fsync'ed and renamed over `path`, and the folder is fsync'ed, so
/// a crash leaves either the old or the new checkpoint, never a torn one.
/// Format: magic "FLCKPT01", version, round, layout (names, shapes), the
/// floats, and a checksum of everything before it.
/// Errors: `io_error` (with errno text).
caf::error save_checkpoint(const std::string& path, const flat_model& model,
                           uint64_t model_version, uint64_t round);

/// The same for a model given as its layout and values (e.g. an immutable
/// version of the global model). REQUIRES: values.size() == layout.numel().
caf::error save_checkpoint(const std::string& path, const model_layout& layout,
                           span<const float> values, uint64_t model_version,
                           uint64_t round);

/// Reads and verifies a checkpoint written by save_checkpoint.
/// Errors: `io_error` (missing, unreadable), `malformed_message` (bad magic,
/// truncated), `checksum_mismatch`.
caf::expected<checkpoint> load_checkpoint(const std::string& path);

/// The checkpoint file inside a checkpoint folder: "<dir>/model.ckpt".
std::string checkpoint_path(const std::string& dir);

} // namespace fl
