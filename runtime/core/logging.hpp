#pragma once

#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <spdlog/logger.h>

#include "runtime/core/status_line.hpp"

namespace fl {

/// The named loggers of one node, made once at start-up (make_loggers) and
/// passed to whoever logs. All share the same sinks (console and, optionally,
/// a file). Loggers are thread-safe; copying the struct shares them.
struct loggers {
  std::shared_ptr<spdlog::logger> node;  ///< lifecycle, progress, summaries
  std::shared_ptr<spdlog::logger> wire;  ///< connectors: joins, rejects, peers
  std::shared_ptr<spdlog::logger> train; ///< trainers and evaluation
  /// The live progress line (drawn on a terminal only; may be null).
  std::shared_ptr<status_line> status;

  /// Shows `text` as the progress line (nothing when not a terminal).
  void progress(const std::string& text) const {
    if (status)
      status->show(text);
  }
  /// Erases the progress line, e.g. before a summary is printed.
  void progress_done() const {
    if (status)
      status->clear();
  }
};

/// Builds the loggers. `level` is trace|debug|info|warn|error|off; `file`,
/// when not empty, receives a copy of every line. On a terminal, stderr
/// gets a live progress line under the log lines (`status`).
/// Errors: `invalid_config` for an unknown level, `io_error` if the file
/// cannot be opened.
caf::expected<loggers> make_loggers(const std::string& level,
                                    const std::string& file = "");

/// Loggers that write into `sink` only (tests capture output with an
/// ostream sink).
loggers make_loggers_with_sink(std::shared_ptr<spdlog::sinks::sink> sink);

} // namespace fl
