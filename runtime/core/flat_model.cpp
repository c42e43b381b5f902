#include "runtime/core/flat_model.hpp"

#include <cassert>
#include <cstring>
#include <new>

namespace fl {

namespace {

constexpr std::align_val_t model_alignment{64};

} // namespace

void flat_model::aligned_delete::operator()(float* p) const noexcept {
  ::operator delete[](p, model_alignment);
}

flat_model::flat_model(model_layout layout)
  : layout_(std::move(layout)), size_(layout_.numel()) {
  auto* p = static_cast<float*>(
    ::operator new[](std::max<size_t>(size_, 1) * sizeof(float),
                     model_alignment));
  data_.reset(p);
  if (size_ > 0)
    std::memset(p, 0, size_ * sizeof(float));
}

flat_model flat_model::clone() const {
  flat_model result{layout_};
  result.assign(values());
  return result;
}

void flat_model::assign(span<const float> xs) {
  assert(xs.size() == size_);
  if (size_ > 0 && xs.data() != data_.get())
    std::memcpy(data_.get(), xs.data(), size_ * sizeof(float));
}

} // namespace fl
