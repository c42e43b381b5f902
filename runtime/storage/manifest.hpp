#pragma once

#include <string>

#include <caf/expected.hpp>

#include "runtime/core/config.hpp"

namespace fl {

/// The run manifest: the first record of every metrics file, saying what
/// produced the file so that the run can be repeated from it:
///   {"manifest":{"fedactor_version":..,"commit":..,"command":"sim",
///    "seed":..,"host":..,"start_time":"2026-11-25T16:30:00Z",
///    "config":{"federation.rounds":30,...},"config_toml":"[node]\n..."}}
/// `config_toml` is the whole resolved configuration except the join
/// token, which is left empty (and listed under "redacted"); `fl-node sim
/// --config metrics.jsonl` runs it again (flags still override it).
std::string run_manifest(const node_config& cfg, const std::string& command);

/// The `config_toml` of the manifest that starts the metrics file `path`.
/// Errors: `io_error` (unreadable), `invalid_config` (no manifest, or one
/// without a configuration), each naming the file.
caf::expected<std::string> manifest_config(const std::string& path);

/// Whether `path` looks like a metrics file (its first non-blank character
/// is '{') rather than a TOML file.
bool is_metrics_file(const std::string& path);

} // namespace fl
