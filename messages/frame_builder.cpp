#include "messages/frame_builder.hpp"

#include <algorithm>
#include <cstring>

#include <capnp/serialize.h>

namespace fl::detail {

frame_builder::frame_builder(size_t estimate_bytes)
  : first_words_((estimate_bytes + 7) / 8 + 8) {
  // Value-initialised: capnp requires zeroed segments.
  buf_.resize(8 + first_words_ * 8);
}

kj::ArrayPtr<capnp::word> frame_builder::allocateSegment(capnp::uint minimum) {
  if (!first_taken_ && minimum <= first_words_) {
    first_taken_ = true;
    return {reinterpret_cast<capnp::word*>(buf_.data() + 8), first_words_};
  }
  first_taken_ = true;
  auto size = std::max<size_t>(minimum, 1024);
  auto seg = kj::heapArray<capnp::word>(size);
  std::memset(seg.begin(), 0, size * sizeof(capnp::word));
  kj::ArrayPtr<capnp::word> result = seg;
  extra_.add(kj::mv(seg));
  return result;
}

byte_buffer frame_builder::finish() {
  auto segments = getSegmentsForOutput();
  if (segments.size() == 1
      && segments[0].begin()
           == reinterpret_cast<const capnp::word*>(buf_.data() + 8)) {
    // Segment table of a single-segment message: (count - 1, size in words).
    auto words = static_cast<uint32_t>(segments[0].size());
    uint32_t table[2] = {0, words};
    std::memcpy(buf_.data(), table, sizeof(table));
    buf_.resize(8 + size_t{words} * 8);
    return std::move(buf_);
  }
  auto flat = capnp::messageToFlatArray(segments);
  auto bytes = flat.asBytes();
  return byte_buffer(bytes.begin(), bytes.end());
}

} // namespace fl::detail
