#pragma once

#include <string>

#include <caf/expected.hpp>

#include "runtime/data/dataset.hpp"

namespace fl {

/// How a CSV file maps to samples.
struct csv_options {
  /// The label column: a header name, a 0-based index, or "" for the last.
  std::string label_column;
  /// The owner-id column (natural partition), or "" for none.
  std::string owner_column;
  /// "yes", "no" or "auto" (a first row with a field that is not a number
  /// is a header).
  std::string header = "auto";
  task_kind task = task_kind::classification;
};

/// Reads a comma-separated file (gzipped or plain): every column but the
/// label and owner columns is a feature; every row one sample. Fields may
/// be surrounded by blanks or double quotes; empty lines are skipped.
/// Classification labels and owner ids must be whole numbers >= 0;
/// regression labels are one real target.
/// Errors: `io_error` (missing, unreadable); `malformed_message` naming the
/// file, the line and the column: a row with another number of fields, a
/// field that is not a number, an unknown label or owner column.
caf::expected<data_split> read_csv(const std::string& path,
                                   const csv_options& opts);

} // namespace fl
