#include "runtime/core/hashing.hpp"

namespace fl {

namespace {

constexpr uint64_t prime1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t prime2 = 0xC2B2AE3D27D4EB4Full;

inline uint64_t rotl(uint64_t x, int r) noexcept {
  return (x << r) | (x >> (64 - r));
}

inline uint64_t round(uint64_t acc, uint64_t input) noexcept {
  acc += input * prime2;
  acc = rotl(acc, 31);
  return acc * prime1;
}

} // namespace

uint64_t bulk_checksum(const void* data, size_t size) noexcept {
  auto* p = static_cast<const unsigned char*>(data);
  uint64_t lanes[4] = {prime1 + prime2, prime2, 0, 0 - prime1};
  size_t i = 0;
  for (; i + 32 <= size; i += 32) {
    uint64_t w[4];
    std::memcpy(w, p + i, 32);
    for (int k = 0; k < 4; ++k)
      lanes[k] = round(lanes[k], w[k]);
  }
  uint64_t h = rotl(lanes[0], 1) + rotl(lanes[1], 7) + rotl(lanes[2], 12)
               + rotl(lanes[3], 18);
  h += static_cast<uint64_t>(size);
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h ^= round(0, w);
    h = rotl(h, 27) * prime1;
  }
  for (; i < size; ++i) {
    h ^= p[i] * prime2;
    h = rotl(h, 11) * prime1;
  }
  h ^= h >> 33;
  h *= prime2;
  h ^= h >> 29;
  return h;
}

} // namespace fl
