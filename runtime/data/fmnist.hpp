#pragma once

#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "runtime/data/dataset.hpp"

namespace fl {

/// Reads Fashion-MNIST (or any MNIST-format set laid out the same way)
/// from `dir` (the Debian package dataset-fashion-mnist installs it under
/// /usr/share/datasets/fashion-mnist): the files
/// {train,t10k}-{images-idx3,labels-idx1}-ubyte, with or without `.gz`.
/// Pixels are scaled to [0, 1]; 10 classes.
/// Errors: as read_idx; the message says which file is missing.
caf::expected<std::shared_ptr<const dataset>>
load_fashion_mnist(const std::string& dir);

} // namespace fl
