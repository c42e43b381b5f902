#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/report/partition_table.hpp"
#include "runtime/report/run_metrics.hpp"
#include "runtime/report/run_summary.hpp"

namespace fl::report {

/// What one report shows.
struct report_input {
  std::vector<run_series> runs;
  double target_accuracy = 0;
  std::optional<partition_table> partition;
  std::vector<std::string> notes; ///< warnings shown under the summary
};

/// One self-contained HTML page (inline CSS, SVG and a little script; no
/// network access needed to view it): the summary table, then test
/// accuracy and loss against rounds and wall time with the runs overlaid,
/// participation and failures, bytes per round, staleness histograms of
/// asynchronous runs, consensus distance of gossip runs, and the
/// partition heat map when given. A plot whose data no run has says so.
/// Clicking a legend entry hides or shows that run in every plot.
std::string html_report(const report_input& in);

} // namespace fl::report
