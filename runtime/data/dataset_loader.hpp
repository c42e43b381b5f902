#pragma once

#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "runtime/data/dataset.hpp"

namespace fl {

/// Where a dataset comes from (the [data] settings).
struct data_source {
  /// "fashion-mnist" (IDX files in `dir`), "idx" (any IDX pair), "csv"
  /// (one file per split) or "npy" (NumPy arrays, features and labels).
  std::string format = "fashion-mnist";
  std::string dir;          ///< fashion-mnist: the folder of the 4 files
  std::string train_data;   ///< idx, npy: samples; csv: the whole file
  std::string train_labels; ///< idx, npy: labels (unused for csv)
  std::string test_data;
  std::string test_labels;
  /// Per-sample owner ids of the train split: an IDX/.npy file for idx
  /// and npy, a column (name or 0-based index) for csv; "" = none.
  std::string owners;
  std::string label_column; ///< csv: name or index; "" = last column
  std::string csv_header = "auto"; ///< csv: yes | no | auto
  task_kind task = task_kind::classification;
  /// Classification: number of classes; 0 = the largest label + 1.
  int64_t num_classes = 0;
};

/// Loads and validates the dataset `src` names (see `validate(dataset)`).
/// Errors: `invalid_config` for a missing path or an unknown format;
/// the loaders' `io_error` / `malformed_message` (with file and line or
/// byte offset); `invalid_config` when the splits disagree.
caf::expected<std::shared_ptr<const dataset>>
load_dataset(const data_source& src);

} // namespace fl
