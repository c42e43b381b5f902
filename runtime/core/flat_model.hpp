#pragma once

#include <cstdint>
#include <memory>

#include "runtime/core/model_layout.hpp"
#include "runtime/core/span.hpp"

namespace fl {

/// A model's parameters as ONE contiguous float32 buffer plus its layout.
/// The buffer is 64-byte aligned and never reallocated: moving a flat_model
/// keeps `data()` stable, so LibTorch parameters can be views into it (see
/// torch_binding.hpp) and aggregation works on one span.
class flat_model {
public:
  flat_model() = default;

  /// A zero-filled model with `layout`.
  explicit flat_model(model_layout layout);

  flat_model(flat_model&&) noexcept = default;
  flat_model& operator=(flat_model&&) noexcept = default;

  /// Deep copy (explicit: copies of model bytes must be deliberate).
  flat_model clone() const;

  const model_layout& layout() const noexcept { return layout_; }
  size_t size() const noexcept { return size_; }
  float* data() noexcept { return data_.get(); }
  const float* data() const noexcept { return data_.get(); }
  span<float> values() noexcept { return {data_.get(), size_}; }
  span<const float> values() const noexcept { return {data_.get(), size_}; }

  /// Copies `xs` into the buffer. REQUIRES: xs.size() == size().
  void assign(span<const float> xs);

private:
  struct aligned_delete {
    void operator()(float* p) const noexcept;
  };
  model_layout layout_;
  size_t size_ = 0;
  std::unique_ptr<float[], aligned_delete> data_;
};

} // namespace fl
