#include "runtime/report/run_summary.hpp"

#include <cstdio>

namespace fl::report {

namespace {

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

/// A CSV field: quoted when it holds a separator, quote or line break.
std::string csv_field(const std::string& x) {
  if (x.find_first_of(",\"\n\r") == std::string::npos)
    return x;
  std::string out = "\"";
  for (char c : x)
    out += c == '"' ? std::string{"\"\""} : std::string{c};
  return out + "\"";
}

template <class T, class F>
std::string or_empty(const std::optional<T>& x, F render) {
  return x ? render(*x) : std::string{};
}

} // namespace

run_summary summarize(const run_series& run, double target_accuracy) {
  run_summary s;
  s.label = run.label;
  s.mode = run.mode;
  s.records = run.points.size();
  for (const auto& p : run.points) {
    s.last_step = std::max(s.last_step, p.step);
    s.wall_s = std::max(s.wall_s, p.elapsed_s);
    s.failures += p.clients_failed.value_or(0);
    s.bytes += p.bytes.value_or(0);
    s.has_bytes |= p.bytes.has_value();
    if (!p.test_accuracy)
      continue;
    const double acc = *p.test_accuracy;
    s.final_accuracy = acc;
    if (!s.best_accuracy || acc > *s.best_accuracy) {
      s.best_accuracy = acc;
      s.best_step = p.step;
    }
    if (!s.time_to_target_s && target_accuracy > 0 && acc >= target_accuracy) {
      s.time_to_target_s = p.elapsed_s;
      s.step_to_target = p.step;
    }
  }
  return s;
}

std::string summary_csv(const std::vector<run_summary>& runs,
                        double target_accuracy) {
  const auto target = fixed(target_accuracy, 3);
  std::string out = "run,mode,records,last_step,final_accuracy,"
                    "best_accuracy,best_step,seconds_to_"
                    + target + ",step_to_" + target
                    + ",wall_seconds,failures,bytes\n";
  auto num = [](double x) { return fixed(x, 4); };
  for (const auto& s : runs) {
    out += csv_field(s.label) + "," + csv_field(s.mode) + ","
           + std::to_string(s.records) + "," + std::to_string(s.last_step)
           + "," + or_empty(s.final_accuracy, num) + ","
           + or_empty(s.best_accuracy, num) + ","
           + (s.best_accuracy ? std::to_string(s.best_step) : "") + ","
           + or_empty(s.time_to_target_s, num) + ","
           + or_empty(s.step_to_target,
                      [](uint64_t x) { return std::to_string(x); })
           + "," + fixed(s.wall_s, 3) + "," + fixed(s.failures, 0) + ","
           + (s.has_bytes ? fixed(s.bytes, 0) : "") + "\n";
  }
  return out;
}

} // namespace fl::report
