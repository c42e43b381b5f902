#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/report/run_metrics.hpp"

namespace fl::report {

/// The figures a researcher compares runs by.
struct run_summary {
  std::string label, mode;
  uint64_t records = 0;
  uint64_t last_step = 0;                ///< rounds or model versions
  std::optional<double> final_accuracy;  ///< the last evaluated record's
  std::optional<double> best_accuracy;
  uint64_t best_step = 0;
  std::optional<double> time_to_target_s; ///< first record at or above
  std::optional<uint64_t> step_to_target;
  double wall_s = 0;    ///< the last record's elapsed time
  double failures = 0;  ///< failed clients (sync) or dropped updates (async)
  double bytes = 0;     ///< all records' bytes
  bool has_bytes = false; ///< whether any record counted bytes
};

run_summary summarize(const run_series& run, double target_accuracy);

/// The summaries as CSV with a header line; fields that a run lacks are
/// empty.
std::string summary_csv(const std::vector<run_summary>& runs,
                        double target_accuracy);

} // namespace fl::report
