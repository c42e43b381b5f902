#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fl {

/// FNV-1a, 64 bit: for short keys (layout descriptions, ids).
class fnv1a64 {
public:
  void add(const void* data, size_t size) noexcept {
    auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
      h_ ^= p[i];
      h_ *= 1099511628211ull;
    }
  }
  template <class T>
  void add_value(T x) noexcept {
    add(&x, sizeof(x));
  }
  uint64_t value() const noexcept { return h_; }

private:
  uint64_t h_ = 14695981039346656037ull;
};

/// A fast 64-bit checksum for bulk data (chunks of model bytes): four
/// independent multiply-rotate lanes over 8-byte words, so it runs at several
/// GB/s. Detects corruption, not an adversary; it is not cryptographic.
uint64_t bulk_checksum(const void* data, size_t size) noexcept;

} // namespace fl
