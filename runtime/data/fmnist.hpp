#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace fl {

/// One split of an image-classification dataset, in memory: `count` images
/// of rows x cols pixels scaled to [0, 1] (row-major, one after the other)
/// and their labels.
struct image_set {
  std::vector<float> pixels;
  std::vector<int64_t> labels;
  int64_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
};

/// The train and test splits of Fashion-MNIST (or any MNIST-format set).
struct image_dataset {
  image_set train;
  image_set test;
  int64_t num_classes = 10;
};

/// Reads one IDX image file and its label file; each may be gzipped (read
/// through zlib) or plain. Checks magic numbers, dimensions, that counts
/// match and that every label is < 256.
/// Errors: `io_error` (missing/unreadable/truncated, with the path),
/// `malformed_message` (bad magic, mismatched counts).
caf::expected<image_set> read_idx(const std::string& images_path,
                                  const std::string& labels_path);

/// Reads Fashion-MNIST from `dir` (the Debian package dataset-fashion-mnist
/// installs it under /usr/share/datasets/fashion-mnist): the files
/// {train,t10k}-{images-idx3,labels-idx1}-ubyte, with or without `.gz`.
/// Errors: as read_idx; the message says which file is missing.
caf::expected<std::shared_ptr<const image_dataset>>
load_fashion_mnist(const std::string& dir);

} // namespace fl
