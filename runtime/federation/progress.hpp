#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fl {

/// Where a run stands, for the live progress line and the ETA of the
/// per-record log lines. Counts are since this process started the run
/// (a resumed run counts from where it resumed).
struct run_progress {
  std::string unit;          ///< "round" (sync) or "update" (async modes)
  uint64_t done = 0;         ///< rounds or updates finished
  uint64_t total = 0;        ///< to finish (0 = no count limit)
  uint64_t offset = 0;       ///< done before this process (resumed)
  double elapsed_s = 0;      ///< since this process started the run
  double max_seconds = 0;    ///< a time limit (async), 0 = none
  std::optional<double> accuracy; ///< the last test accuracy
  /// Sync: the round being collected, its updates received and expected
  /// (records, with evaluation, may lag a round behind).
  uint64_t current = 0, round_in = 0, round_expected = 0;
};

/// Seconds to the end at the rate so far: by count, capped by the time
/// limit; nullopt before anything finished or with neither limit.
std::optional<double> eta_seconds(const run_progress& p);

/// One line, e.g. "round 13/30 (43%) | round 14: 4/10 in | acc 0.7431 |
/// 2.41 rounds/s | 5.4 s | ETA 7.1 s".
std::string progress_text(const run_progress& p);

} // namespace fl
