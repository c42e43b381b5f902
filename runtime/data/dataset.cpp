#include "runtime/data/dataset.hpp"

#include <cmath>

#include "runtime/core/errors.hpp"

namespace fl {

int64_t data_split::feature_size() const {
  return shape_numel(sample_shape);
}

caf::expected<data_split> make_split(const numeric_array& x,
                                     const numeric_array& y, task_kind task) {
  auto bad = [&](const std::string& why) {
    return make_fl_error(errc::malformed_message, "'" + y.path + "': " + why);
  };
  if (y.shape[0] != x.shape[0])
    return bad("holds " + std::to_string(y.shape[0]) + " labels for "
               + std::to_string(x.shape[0]) + " samples in '" + x.path + "'");
  data_split s;
  s.count = x.shape[0];
  s.sample_shape.assign(x.shape.begin() + 1, x.shape.end());
  s.features = to_floats(x, /*scale_bytes=*/true);
  if (task == task_kind::classification) {
    if (y.shape.size() != 1)
      return bad("class labels have one dimension, these have "
                 + std::to_string(y.shape.size()));
    auto ints = to_integers(y);
    if (!ints)
      return std::move(ints.error());
    s.labels = std::move(*ints);
  } else {
    if (y.shape.size() > 2)
      return bad("regression targets are [samples] or [samples, targets]");
    s.target_size = y.shape.size() == 2 ? y.shape[1] : 1;
    s.targets = to_floats(y, /*scale_bytes=*/false);
  }
  return s;
}

caf::expected<data_split> read_split_files(array_reader read,
                                           const std::string& samples,
                                           const std::string& labels,
                                           task_kind task) {
  auto x = read(samples);
  if (!x)
    return std::move(x.error());
  auto y = read(labels);
  if (!y)
    return std::move(y.error());
  return make_split(*x, *y, task);
}

std::string to_string(task_kind x) {
  return x == task_kind::regression ? "regression" : "classification";
}

namespace {

caf::error check_split(const data_split& s, const dataset& d,
                       const std::string& where) {
  auto bad = [&](const std::string& why) {
    return make_fl_error(errc::invalid_config, where + ": " + why);
  };
  if (s.count < 1)
    return bad("has no samples");
  for (auto dim : s.sample_shape)
    if (dim < 1)
      return bad("a sample dimension is < 1");
  const auto n = static_cast<size_t>(s.count);
  if (s.features.size() != n * static_cast<size_t>(s.feature_size()))
    return bad(std::to_string(s.features.size()) + " feature values for "
               + std::to_string(s.count) + " samples of "
               + std::to_string(s.feature_size()));
  for (size_t i = 0; i < s.features.size(); ++i)
    if (!std::isfinite(s.features[i]))
      return bad("feature value " + std::to_string(i % s.feature_size())
                 + " of sample " + std::to_string(i / s.feature_size())
                 + " is not finite");
  if (d.task == task_kind::classification) {
    if (s.labels.size() != n)
      return bad(std::to_string(s.labels.size()) + " labels for "
                 + std::to_string(s.count) + " samples");
    for (size_t i = 0; i < n; ++i)
      if (s.labels[i] < 0 || s.labels[i] >= d.num_classes)
        return bad("label " + std::to_string(s.labels[i]) + " of sample "
                   + std::to_string(i) + " is outside [0, "
                   + std::to_string(d.num_classes) + ")");
  } else {
    if (s.target_size < 1 || s.targets.size() != n * s.target_size)
      return bad(std::to_string(s.targets.size()) + " targets for "
                 + std::to_string(s.count) + " samples");
    for (size_t i = 0; i < s.targets.size(); ++i)
      if (!std::isfinite(s.targets[i]))
        return bad("target of sample " + std::to_string(i / s.target_size)
                   + " is not finite");
  }
  if (!s.owners.empty()) {
    if (s.owners.size() != n)
      return bad(std::to_string(s.owners.size()) + " owner ids for "
                 + std::to_string(s.count) + " samples");
    for (size_t i = 0; i < n; ++i)
      if (s.owners[i] < 0)
        return bad("owner id of sample " + std::to_string(i) + " is < 0");
  }
  return caf::none;
}

} // namespace

caf::error validate(const dataset& d, const std::string& origin) {
  if (d.task == task_kind::classification && d.num_classes < 2)
    return make_fl_error(errc::invalid_config,
                         origin + ": a classification needs at least 2 "
                                  "classes, got "
                           + std::to_string(d.num_classes));
  if (auto err = check_split(d.train, d, origin + " (train)"))
    return err;
  if (auto err = check_split(d.test, d, origin + " (test)"))
    return err;
  if (d.train.sample_shape != d.test.sample_shape)
    return make_fl_error(errc::invalid_config,
                         origin + ": train and test samples differ in shape");
  if (d.task == task_kind::regression
      && d.train.target_size != d.test.target_size)
    return make_fl_error(errc::invalid_config,
                         origin + ": train and test differ in target size");
  return caf::none;
}

} // namespace fl
