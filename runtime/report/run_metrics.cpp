#include "runtime/report/run_metrics.hpp"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/core/errors.hpp"

namespace fl::report {

namespace {

using json = nlohmann::json;

std::optional<double> number(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number())
    return std::nullopt;
  return it->get<double>();
}

/// The mode a manifest names (its "federation.mode" setting).
std::string manifest_mode(const json& manifest) {
  auto config = manifest.find("config");
  if (config == manifest.end() || !config->is_object())
    return "unknown";
  auto mode = config->find("federation.mode");
  return mode != config->end() && mode->is_string() ? mode->get<std::string>()
                                                    : "unknown";
}

enum class record_kind { none, round, version };

/// Appends one record to `run`; returns its kind (none: not a record of a
/// run). `last_totals` holds the previous cumulative counters of an
/// asynchronous run.
record_kind add_record(run_series& run, const json& j,
                       run_point& last_totals) {
  run_point p;
  p.elapsed_s = number(j, "elapsed_seconds").value_or(0);
  p.test_accuracy = number(j, "test_accuracy");
  p.test_loss = number(j, "test_loss");
  p.train_loss = number(j, "train_loss");
  p.consensus_distance = number(j, "consensus_distance");
  record_kind kind = record_kind::none;
  if (auto round = number(j, "round"); round && !j.contains("client")) {
    kind = record_kind::round;
    p.step = static_cast<uint64_t>(*round);
    p.clients_ok = number(j, "clients_ok");
    p.clients_failed = number(j, "clients_failed");
    auto in = number(j, "bytes_in"), out = number(j, "bytes_out");
    if (in || out)
      p.bytes = in.value_or(0) + out.value_or(0);
    if (auto sent = number(j, "bytes_sent"))
      p.bytes = sent;
  } else if (auto applied = number(j, "updates_applied")) {
    kind = record_kind::version;
    p.step = static_cast<uint64_t>(number(j, "model_version").value_or(0));
    // Counters are totals since the start: per-record differences.
    auto dropped = number(j, "updates_dropped").value_or(0)
                   + number(j, "models_rejected").value_or(0);
    p.clients_ok = std::max(0.0, *applied - last_totals.clients_ok.value_or(0));
    p.clients_failed = std::max(0.0, dropped
                                       - last_totals.clients_failed.value_or(0));
    last_totals.clients_ok = applied;
    last_totals.clients_failed = dropped;
    if (auto hist = j.find("staleness"); hist != j.end() && hist->is_object())
      for (auto& [k, v] : hist->items())
        if (v.is_number_unsigned() && !k.empty()
            && k.find_first_not_of("0123456789") == std::string::npos
            && k.size() < 19)
          run.staleness[std::stoull(k)] += v.get<uint64_t>();
  } else {
    return kind;
  }
  run.points.push_back(p);
  return kind;
}

} // namespace

caf::expected<run_series> read_run(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_fl_error(errc::io_error, "cannot read '" + path + "'");
  run_series run;
  run.path = path;
  run.label = std::filesystem::path{path}.stem().string();
  run.mode = "unknown";
  run_point totals;
  std::string line;
  size_t line_no = 0, client_records = 0, rounds = 0, versions = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    const auto where = path + ":" + std::to_string(line_no) + ": ";
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception&) {
      run.warnings.push_back(where + "not a JSON record (a run cut off "
                                     "while writing?); skipped");
      continue;
    }
    if (!j.is_object()) {
      run.warnings.push_back(where + "not a JSON object; skipped");
      continue;
    }
    if (auto m = j.find("manifest"); m != j.end() && m->is_object()) {
      if (run.command.empty()) {
        run.mode = manifest_mode(*m);
        auto cmd = m->find("command");
        run.command = cmd != m->end() && cmd->is_string()
                        ? cmd->get<std::string>()
                        : "?";
      }
      continue;
    }
    if (j.contains("client")) {
      ++client_records;
      continue;
    }
    switch (add_record(run, j, totals)) {
      case record_kind::round: ++rounds; break;
      case record_kind::version: ++versions; break;
      case record_kind::none:
        run.warnings.push_back(where + "a record of no known kind; skipped");
    }
  }
  if (run.points.empty()) {
    if (client_records > 0)
      return make_fl_error(errc::invalid_config,
                           path + " holds per-client records (the "
                                  "--client-metrics file); give the run's "
                                  "--metrics file");
    return make_fl_error(errc::invalid_config,
                         path + " has no round or model-version records"
                           + (line_no == 0 ? " (the file is empty)" : ""));
  }
  if (client_records > 0)
    run.warnings.push_back(path + ": " + std::to_string(client_records)
                           + " per-client record(s) skipped");
  if (rounds > 0 && versions > 0)
    run.warnings.push_back(path + ": mixes " + std::to_string(rounds)
                           + " round record(s) and " + std::to_string(versions)
                           + " model-version record(s) (runs of different "
                             "modes in one file?); plotted as one series");
  if (run.mode == "unknown") {
    // No manifest: guess from the records.
    run.mode = !run.staleness.empty() ? "async" : "sync";
    run.warnings.push_back(path + ": no run manifest; mode taken as "
                           + run.mode);
  }
  return run;
}

} // namespace fl::report
