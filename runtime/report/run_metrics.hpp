#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace fl::report {

/// One record of a metrics file: a sync round, an asynchronous model
/// version, or a gossip round, with what it measured (absent fields are
/// empty optionals).
struct run_point {
  uint64_t step = 0;        ///< round (sync, gossip) or model version (async)
  double elapsed_s = 0;     ///< wall time since the run started
  std::optional<double> test_accuracy, test_loss, train_loss;
  std::optional<double> clients_ok, clients_failed; ///< this record's
  std::optional<double> bytes;                      ///< in + out, this record
  std::optional<double> consensus_distance;         ///< gossip
};

/// A metrics file read for the report: its records in file order, the
/// staleness histogram summed over all records (async modes), and the lines
/// that could not be used (a truncated last line, a foreign record).
struct run_series {
  std::string path;
  std::string label;   ///< the file name without .jsonl
  std::string mode;    ///< sync | async | fedbuff | gossip | unknown
  std::string command; ///< from the manifest ("" without one)
  std::vector<run_point> points;
  std::map<uint64_t, uint64_t> staleness; ///< staleness -> updates
  std::vector<std::string> warnings;      ///< "file:line: what"
};

/// Reads the metrics file `path`. A resumed run's second manifest and its
/// records continue the series. Lines that are not JSON objects (a run
/// killed mid-line) or records of another kind are skipped with a
/// warning; asynchronous counters (applied, dropped) become per-record
/// differences. Errors: `io_error` (unreadable), `invalid_config` when the
/// file holds no usable record, naming the file (an empty file, a
/// per-client metrics file, something that is not JSON lines).
caf::expected<run_series> read_run(const std::string& path);

} // namespace fl::report
