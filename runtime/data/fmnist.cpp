#include "runtime/data/fmnist.hpp"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <zlib.h>

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

/// Reads a whole file through zlib (which passes plain files through).
caf::expected<std::vector<uint8_t>> read_all(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr)
    return make_fl_error(errc::io_error, "cannot open '" + path
                                           + "': " + std::strerror(errno));
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof(buf));
    if (n < 0) {
      int code = 0;
      std::string why = gzerror(f, &code);
      gzclose(f);
      return make_fl_error(errc::io_error,
                           "cannot read '" + path + "': " + why);
    }
    if (n == 0)
      break;
    out.insert(out.end(), buf, buf + n);
  }
  gzclose(f);
  return out;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8)
         | uint32_t{p[3]};
}

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

caf::expected<image_set> read_idx(const std::string& images_path,
                                  const std::string& labels_path) {
  auto images = read_all(images_path);
  if (!images)
    return std::move(images.error());
  auto labels = read_all(labels_path);
  if (!labels)
    return std::move(labels.error());
  auto bad = [](const std::string& path, const std::string& why) {
    return make_fl_error(errc::malformed_message, "'" + path + "': " + why);
  };
  if (images->size() < 16 || be32(images->data()) != 0x00000803)
    return bad(images_path, "not an IDX image file (magic 0x803)");
  if (labels->size() < 8 || be32(labels->data()) != 0x00000801)
    return bad(labels_path, "not an IDX label file (magic 0x801)");
  image_set set;
  set.count = be32(images->data() + 4);
  set.rows = be32(images->data() + 8);
  set.cols = be32(images->data() + 12);
  if (set.rows <= 0 || set.cols <= 0 || set.rows > 4096 || set.cols > 4096)
    return bad(images_path, "implausible image size");
  const auto pixels_per = static_cast<size_t>(set.rows * set.cols);
  if (images->size() != 16 + static_cast<size_t>(set.count) * pixels_per)
    return make_fl_error(errc::io_error, "'" + images_path
                                           + "' is truncated or too long");
  if (be32(labels->data() + 4) != set.count)
    return bad(labels_path, "holds " + std::to_string(be32(labels->data() + 4))
                              + " labels for " + std::to_string(set.count)
                              + " images");
  if (labels->size() != 8 + static_cast<size_t>(set.count))
    return make_fl_error(errc::io_error, "'" + labels_path
                                           + "' is truncated or too long");
  set.pixels.resize(static_cast<size_t>(set.count) * pixels_per);
  for (size_t i = 0; i < set.pixels.size(); ++i)
    set.pixels[i] = static_cast<float>((*images)[16 + i]) / 255.0f;
  set.labels.resize(static_cast<size_t>(set.count));
  for (size_t i = 0; i < set.labels.size(); ++i)
    set.labels[i] = (*labels)[8 + i];
  return set;
}

caf::expected<std::shared_ptr<const image_dataset>>
load_fashion_mnist(const std::string& dir) {
  auto result = std::make_shared<image_dataset>();
  for (auto [prefix, dst] :
       {std::make_pair("train", &result->train),
        std::make_pair("t10k", &result->test)}) {
    auto img = find_file(dir, std::string{prefix} + "-images-idx3-ubyte");
    if (!img)
      return std::move(img.error());
    auto lbl = find_file(dir, std::string{prefix} + "-labels-idx1-ubyte");
    if (!lbl)
      return std::move(lbl.error());
    auto set = read_idx(*img, *lbl);
    if (!set)
      return std::move(set.error());
    *dst = std::move(*set);
  }
  for (auto l : result->train.labels)
    if (l >= result->num_classes)
      return make_fl_error(errc::malformed_message,
                           "label " + std::to_string(l) + " >= 10 classes");
  return std::shared_ptr<const image_dataset>{std::move(result)};
}

} // namespace fl
