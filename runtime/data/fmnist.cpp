#include "runtime/data/fmnist.hpp"

#include <sys/stat.h>

#include "runtime/core/errors.hpp"
#include "runtime/data/idx.hpp"

namespace fl {

namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

caf::expected<std::string> find_file(const std::string& dir,
                                     const std::string& base) {
  for (const auto& candidate : {dir + "/" + base + ".gz", dir + "/" + base})
    if (exists(candidate))
      return candidate;
  return make_fl_error(errc::io_error,
                       "missing '" + dir + "/" + base
                         + "[.gz]' (install the Debian package "
                           "dataset-fashion-mnist or set --data-dir)");
}

} // namespace

caf::expected<std::shared_ptr<const dataset>>
load_fashion_mnist(const std::string& dir) {
  auto result = std::make_shared<dataset>();
  result->num_classes = 10;
  for (auto [prefix, dst] :
       {std::make_pair("train", &result->train),
        std::make_pair("t10k", &result->test)}) {
    auto img = find_file(dir, std::string{prefix} + "-images-idx3-ubyte");
    if (!img)
      return std::move(img.error());
    auto lbl = find_file(dir, std::string{prefix} + "-labels-idx1-ubyte");
    if (!lbl)
      return std::move(lbl.error());
    auto split = read_idx(*img, *lbl);
    if (!split)
      return std::move(split.error());
    *dst = std::move(*split);
  }
  if (auto err = validate(*result, "Fashion-MNIST in '" + dir + "'"))
    return err;
  return std::shared_ptr<const dataset>{std::move(result)};
}

} // namespace fl
