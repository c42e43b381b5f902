#pragma once

#include <string>
#include <vector>

namespace fl::cli {

/// `fl-node report` settings.
struct report_options {
  std::vector<std::string> metrics; ///< metrics .jsonl files, one per run
  std::string output;               ///< "" = report.html (html) or stdout (csv)
  std::string format = "html";      ///< html | csv
  double target_accuracy = 0.7;     ///< for "time to target"
  std::string partition_csv;        ///< "" = no heat map
};

/// Reads every metrics file and writes the report. A file that cannot be
/// used is named on stderr and left out; skipped lines become notes in
/// the report. Returns 0 when written, 2 when no file was usable or the
/// output cannot be written.
int run_report(const report_options& opts);

} // namespace fl::cli
