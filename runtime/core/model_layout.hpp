#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace fl {

/// One named tensor of a model, stored at `offset` (in elements) inside the
/// model's flat float32 buffer.
struct layer_spec {
  std::string name;            ///< e.g. "fc1.weight"
  std::vector<int64_t> shape;  ///< dimensions; an empty shape is a scalar
  uint64_t offset = 0;         ///< first element inside the flat buffer
  /// Number of elements: the product of `shape` (1 for a scalar).
  uint64_t numel() const;
};

/// How a flat buffer splits into named layers. Layers are stored back to back
/// in declaration order; `hash()` identifies the layout on the wire so that a
/// peer can reject an update built for a different model.
class model_layout {
public:
  model_layout() = default;

  /// Appends a layer after the last one and returns its offset.
  uint64_t add(std::string name, std::vector<int64_t> shape);

  const std::vector<layer_spec>& layers() const noexcept { return layers_; }
  uint64_t numel() const noexcept { return numel_; }
  uint64_t hash() const noexcept { return hash_; }
  bool empty() const noexcept { return layers_.empty(); }

  /// Builds a layout from (name, shape) pairs, checking that every dimension
  /// is positive and that the total element count fits in 2^62.
  /// Errors: `invalid_field` on a negative/zero dimension or overflow.
  static caf::expected<model_layout>
  make(std::vector<std::pair<std::string, std::vector<int64_t>>> layers);

  friend bool operator==(const model_layout& x, const model_layout& y) {
    return x.hash_ == y.hash_ && x.numel_ == y.numel_
           && x.layers_.size() == y.layers_.size();
  }
  friend bool operator!=(const model_layout& x, const model_layout& y) {
    return !(x == y);
  }

private:
  void rehash();
  std::vector<layer_spec> layers_;
  uint64_t numel_ = 0;
  uint64_t hash_ = 0;
};

/// A layout with one layer "flat" of `n` elements (synthetic models, benches).
model_layout flat_layout(uint64_t n);

} // namespace fl
