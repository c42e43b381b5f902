#include "cli/report_command.hpp"

#include <cstdio>

#include "runtime/core/errors.hpp"
#include "runtime/report/html_report.hpp"
#include "runtime/storage/text_file.hpp"

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
  if (auto err = write_text_file(path, text)) {
    std::fprintf(stderr, "fl-node report: %s\n", describe(err).c_str());
    return 2;
  }
  std::fprintf(stderr, "fl-node report: %zu run(s) -> %s\n", in.runs.size(),
               path.c_str());
  return 0;
}

} // namespace fl::cli
