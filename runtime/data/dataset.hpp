#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/data/numeric_array.hpp"

namespace fl {

/// What the labels of a dataset mean.
enum class task_kind : uint8_t {
  classification, ///< one class index per sample, in [0, num_classes)
  regression,     ///< `target_size` real targets per sample
};

/// One split of a dataset, in memory and row-major: `count` samples of
/// `feature_size()` float features each (shaped `sample_shape`, e.g.
/// {28, 28} for an image or {d} for a table row) and their labels.
struct data_split {
  std::vector<float> features;       ///< count x feature_size()
  std::vector<int64_t> sample_shape; ///< shape of one sample's features
  std::vector<int64_t> labels;       ///< classification: class per sample
  std::vector<float> targets;        ///< regression: count x target_size
  int64_t target_size = 0;           ///< regression: targets per sample
  /// Optional owner id per sample (a user, a writer, a device): the
  /// natural client of the sample for `--partition by-owner`. Empty when
  /// the data has none.
  std::vector<int64_t> owners;
  int64_t count = 0;

  /// Product of `sample_shape` (1 for an empty shape).
  int64_t feature_size() const;
};

/// A train split (partitioned over the clients) and a test split (the
/// server's central evaluation). Shared read-only by every trainer of a
/// process, so it is held through `std::shared_ptr<const dataset>`.
struct dataset {
  data_split train;
  data_split test;
  task_kind task = task_kind::classification;
  int64_t num_classes = 0; ///< classification only
};

/// Checks the invariants every trainer relies on: each split's vectors
/// have the sizes `count` and the shapes say, train and test samples have
/// the same shape, every feature and target is finite, every class label
/// is in [0, num_classes), owners (if any) cover every train sample and
/// are >= 0. `origin` names the data in messages.
/// Errors: `invalid_config` naming the first problem.
caf::error validate(const dataset& d, const std::string& origin);

/// A split from an array of samples (first dimension = samples; u8 values
/// are pixels, scaled to [0, 1]) and one of labels: class indices [n] for
/// a classification, targets [n] or [n, t] for a regression.
/// Errors: `malformed_message` naming the label file: counts that differ,
/// a label array of the wrong rank, class labels that are not whole
/// numbers.
caf::expected<data_split> make_split(const numeric_array& samples,
                                     const numeric_array& labels,
                                     task_kind task);

/// Reads an array file (IDX, .npy) into a numeric_array.
using array_reader = caf::expected<numeric_array> (*)(const std::string&);

/// `make_split` of the sample file and label file `read` reads.
/// Errors: the reader's, then make_split's.
caf::expected<data_split> read_split_files(array_reader read,
                                           const std::string& samples,
                                           const std::string& labels,
                                           task_kind task);

/// "classification" or "regression".
std::string to_string(task_kind x);

} // namespace fl
