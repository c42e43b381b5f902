// libFuzzer target: a sequence of frames (each prefixed by its 16-bit
// length) fed to one chunk assembler, as a peer sends them on one
// connection: out of order, duplicated, truncated or forged chunks must be
// refused and the assembler must recover for the next transfer.

#include "messages/chunking.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fl::decode_limits limits;
  limits.max_message_bytes = uint64_t{16} << 20;
  fl::frame_assembler assembler{limits};
  size_t at = 0;
  while (at + 2 <= size) {
    size_t len = data[at] | (size_t{data[at + 1]} << 8);
    at += 2;
    len = len > size - at ? size - at : len;
    auto frame
        = std::make_shared<const fl::byte_buffer>(data + at, data + at + len);
    at += len;
    auto res = assembler.feed(std::move(frame));
    (void)res;
  }
  (void)assembler.abandon();
  return 0;
}
