#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace fl {

/// The state a strategy keeps beside the model (server optimizer moments,
/// SCAFFOLD control variates), as named vectors.
struct strategy_state {
  uint64_t model_version = 0; ///< the model version it belongs to
  std::vector<std::pair<std::string, std::vector<float>>> vectors;
};

/// Writes `s` atomically to `path` in the checkpoint format (one layer per
/// vector; empty vectors are left out), so it gets the same torn-write
/// protection and checksum as the model. Errors: `io_error`.
caf::error save_strategy_state(const std::string& path,
                               const strategy_state& s);

/// Reads a file written by save_strategy_state. Errors: as load_checkpoint.
caf::expected<strategy_state> load_strategy_state(const std::string& path);

/// "<dir>/strategy.ckpt".
std::string strategy_state_path(const std::string& dir);

} // namespace fl
