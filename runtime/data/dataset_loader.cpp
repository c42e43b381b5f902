#include "runtime/data/dataset_loader.hpp"

#include <algorithm>

#include "runtime/core/errors.hpp"
#include "runtime/data/csv.hpp"
#include "runtime/data/fmnist.hpp"
#include "runtime/data/idx.hpp"
#include "runtime/data/npy.hpp"

namespace fl {

namespace {

caf::error need(const std::string& value, const std::string& key,
                const std::string& format) {
  if (!value.empty())
    return caf::none;
  return make_fl_error(errc::invalid_config,
                       "data.format = " + format + " needs " + key);
}

caf::error attach_owners(array_reader read, const std::string& path,
                         data_split& train) {
  auto o = read(path);
  if (!o)
    return std::move(o.error());
  if (o->shape.size() != 1 || o->shape[0] != train.count)
    return make_fl_error(errc::malformed_message,
                         "'" + path + "': owner ids must be one per train "
                         "sample (" + std::to_string(train.count) + ")");
  auto ids = to_integers(*o);
  if (!ids)
    return std::move(ids.error());
  train.owners = std::move(*ids);
  return caf::none;
}

caf::expected<data_split> read_split(const data_source& src, bool train) {
  const auto& data = train ? src.train_data : src.test_data;
  const auto& labels = train ? src.train_labels : src.test_labels;
  const std::string prefix = train ? "data.train" : "data.test";
  if (auto err = need(data, prefix + "_data", src.format))
    return err;
  if (src.format == "csv") {
    csv_options opts;
    opts.label_column = src.label_column;
    // The test file has the train file's columns: its owner column (when
    // named) is dropped too, and its ids are not used.
    opts.owner_column = src.owners;
    opts.header = src.csv_header;
    opts.task = src.task;
    auto s = read_csv(data, opts);
    if (s && !train)
      s->owners.clear();
    return s;
  }
  if (auto err = need(labels, prefix + "_labels", src.format))
    return err;
  const array_reader read = src.format == "idx" ? read_idx_array : read_npy;
  auto s = read_split_files(read, data, labels, src.task);
  if (s && src.format == "idx")
    add_channel_axis(*s);
  if (s && train && !src.owners.empty())
    if (auto err = attach_owners(read, src.owners, *s))
      return err;
  return s;
}

} // namespace

caf::expected<std::shared_ptr<const dataset>>
load_dataset(const data_source& src) {
  if (src.format == "fashion-mnist") {
    if (src.task != task_kind::classification)
      return make_fl_error(errc::invalid_config,
                           "Fashion-MNIST is a classification dataset");
    return load_fashion_mnist(src.dir);
  }
  if (src.format != "idx" && src.format != "csv" && src.format != "npy")
    return make_fl_error(errc::invalid_config,
                         "data.format must be fashion-mnist, idx, csv or npy, "
                         "got '" + src.format + "'");
  auto d = std::make_shared<dataset>();
  d->task = src.task;
  auto train = read_split(src, true);
  if (!train)
    return std::move(train.error());
  d->train = std::move(*train);
  auto test = read_split(src, false);
  if (!test)
    return std::move(test.error());
  d->test = std::move(*test);
  if (d->task == task_kind::classification) {
    int64_t top = 0;
    for (const auto* s : {&d->train, &d->test})
      for (auto l : s->labels)
        top = std::max(top, l);
    d->num_classes = src.num_classes > 0 ? src.num_classes : top + 1;
  }
  if (auto err = validate(*d, src.format + " data '" + src.train_data + "'"))
    return err;
  return std::shared_ptr<const dataset>{std::move(d)};
}

} // namespace fl
