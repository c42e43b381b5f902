#pragma once

#include <cstddef>
#include <type_traits>
#include <vector>

namespace fl {

/// A non-owning view of `size()` contiguous elements (C++17 has no std::span).
/// The viewed memory must outlive the span; the span never frees it.
template <class T>
class span {
public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;

  constexpr span() noexcept = default;
  constexpr span(T* data, size_t size) noexcept : data_(data), size_(size) {}

  template <class U, class = std::enable_if_t<std::is_convertible<
                       typename std::vector<U>::pointer, T*>::value>>
  span(std::vector<U>& xs) noexcept : data_(xs.data()), size_(xs.size()) {}

  template <class U, class = std::enable_if_t<std::is_convertible<
                       typename std::vector<U>::const_pointer, T*>::value>>
  span(const std::vector<U>& xs) noexcept
    : data_(xs.data()), size_(xs.size()) {}

  template <class U, class = std::enable_if_t<std::is_convertible<U*, T*>::value>>
  constexpr span(span<U> other) noexcept
    : data_(other.data()), size_(other.size()) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr size_t size() const noexcept { return size_; }
  constexpr size_t size_bytes() const noexcept { return size_ * sizeof(T); }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr T& operator[](size_t i) const noexcept { return data_[i]; }
  constexpr T* begin() const noexcept { return data_; }
  constexpr T* end() const noexcept { return data_ + size_; }

  /// Elements [offset, offset + count). REQUIRES: offset + count <= size().
  constexpr span subspan(size_t offset, size_t count) const noexcept {
    return span{data_ + offset, count};
  }

private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

} // namespace fl
