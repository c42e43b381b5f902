// libFuzzer target: one wire frame, as a peer could send it, through the
// decoder every connector uses. Any input must give an envelope or an
// error, never a crash, a hang or an oversized allocation.

#include "messages/codec.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fl::decode_limits limits;
  limits.max_message_bytes = uint64_t{64} << 20;
  auto bytes = std::make_shared<const fl::byte_buffer>(data, data + size);
  auto env = fl::decode(bytes, limits);
  (void)env;
  return 0;
}
