#pragma once

#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

#include <caf/expected.hpp>

#include "messages/types.hpp"

namespace fl {

/// Limits a decoder enforces. Defaults suit models up to 8 GiB.
struct decode_limits {
  /// Largest frame or reassembled transfer accepted, bytes.
  uint64_t max_message_bytes = uint64_t{8} << 30;
  /// Largest node id / text field, bytes.
  size_t max_text_bytes = 4096;
  /// Most layers a tensor may declare.
  size_t max_layers = 1u << 20;
};

/// One piece of a chunked transfer, as decoded from its frame. `data` points
/// into the frame, which `owner` keeps alive.
struct chunk_view {
  uint64_t transfer_id = 0;
  uint32_t index = 0;
  uint32_t count = 0;
  uint64_t total_bytes = 0;
  uint64_t checksum = 0;
  span<const uint8_t> data;
  std::shared_ptr<const byte_buffer> owner;
};

/// A decoded frame: a whole envelope or one chunk of a larger one.
using frame = std::variant<envelope, chunk_view>;

/// Encodes `env` as ONE frame (no chunking). The model bytes are copied once,
/// straight into the returned buffer. Every tensor in `env` must have
/// `values.size() == layout.numel()` (asserted).
byte_buffer encode(const envelope& env);

/// Encodes `env` and splits it into chunk frames of at most `chunk_bytes`
/// payload each when the encoding is larger; otherwise returns one frame.
/// `transfer_id` must be unique per sender for the chunks' lifetime.
std::vector<byte_buffer> encode_frames(const envelope& env, size_t chunk_bytes,
                                       uint64_t transfer_id);

/// Decodes and validates one frame. Tensors in the result point into `bytes`
/// (zero copy, unless a model spans several slices) and share its ownership.
/// Errors: `truncated_message`, `malformed_message`, `unknown_enum_value`,
/// `size_mismatch`, `layout_mismatch`, `non_finite_value`,
/// `unsupported_dtype`, `invalid_field`, `too_large`; never throws.
caf::expected<frame> decode_frame(std::shared_ptr<const byte_buffer> bytes,
                                  const decode_limits& limits = {});

/// Decodes a frame that must hold an envelope (not a chunk).
/// Errors: as decode_frame, plus `unexpected_message` for a chunk.
caf::expected<envelope> decode(std::shared_ptr<const byte_buffer> bytes,
                               const decode_limits& limits = {});

} // namespace fl
