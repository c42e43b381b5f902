#pragma once

#include <capnp/message.h>
#include <kj/vector.h>

#include "messages/types.hpp"

namespace fl::detail {

/// A capnp MessageBuilder that builds the message directly inside the
/// byte_buffer that will be sent: one preallocated segment right after an
/// 8-byte segment table. With a correct size estimate there is no copy at
/// all; if the estimate was short, capnp gets extra segments and finish()
/// falls back to one flattening copy. (MallocMessageBuilder with a caller
/// buffer cannot be used: it re-zeroes that buffer in its destructor.)
class frame_builder : public capnp::MessageBuilder {
public:
  /// `estimate_bytes`: expected size of the message body.
  explicit frame_builder(size_t estimate_bytes);

  kj::ArrayPtr<capnp::word> allocateSegment(capnp::uint minimum) override;

  /// Returns the framed message (segment table + segments). Call once.
  byte_buffer finish();

private:
  byte_buffer buf_;
  size_t first_words_;
  bool first_taken_ = false;
  kj::Vector<kj::Array<capnp::word>> extra_;
};

} // namespace fl::detail
