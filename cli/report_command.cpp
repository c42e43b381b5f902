#include "cli/report_command.hpp"

#include <cstdio>
#include <fstream>

#include "runtime/core/errors.hpp"
#include "runtime/report/html_report.hpp"

namespace fl::cli {

int run_report(const report_options& opts) {
  report::report_input in;
  in.target_accuracy = opts.target_accuracy;
  for (const auto& path : opts.metrics) {
    auto run = report::read_run(path);
    if (!run) {
      std::fprintf(stderr, "fl-node report: %s; left out\n",
                   describe(run.error()).c_str());
      in.notes.push_back(describe(run.error()) + "; left out");
      continue;
    }
    for (const auto& w : run->warnings)
      std::fprintf(stderr, "fl-node report: %s\n", w.c_str());
    in.notes.insert(in.notes.end(), run->warnings.begin(),
                    run->warnings.end());
    in.runs.push_back(std::move(*run));
  }
  if (in.runs.empty()) {
    std::fprintf(stderr, "fl-node report: no usable metrics file\n");
    return 2;
  }
  if (!opts.partition_csv.empty()) {
    auto table = report::read_partition_csv(opts.partition_csv);
    if (!table) {
      std::fprintf(stderr, "fl-node report: %s\n",
                   describe(table.error()).c_str());
      return 2;
    }
    in.partition = std::move(*table);
  }
  std::string text;
  if (opts.format == "csv") {
    std::vector<report::run_summary> rows;
    for (const auto& r : in.runs)
      rows.push_back(report::summarize(r, in.target_accuracy));
    text = report::summary_csv(rows, in.target_accuracy);
    if (opts.output.empty() || opts.output == "-") {
      std::fputs(text.c_str(), stdout);
      return 0;
    }
  } else {
    text = report::html_report(in);
  }
  const auto path = opts.output.empty() ? std::string{"report.html"}
                                        : opts.output;
  // Written beside the target and renamed, so a failure never leaves a
  // half-written report in its place.
  const auto tmp = path + ".tmp";
  {
    std::ofstream out{tmp, std::ios::binary};
    out << text;
    if (!out.flush()) {
      std::fprintf(stderr, "fl-node report: cannot write '%s'\n", tmp.c_str());
      std::remove(tmp.c_str());
      return 2;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::fprintf(stderr, "fl-node report: cannot write '%s'\n", path.c_str());
    std::remove(tmp.c_str());
    return 2;
  }
  std::fprintf(stderr, "fl-node report: %zu run(s) -> %s\n", in.runs.size(),
               path.c_str());
  return 0;
}

} // namespace fl::cli
