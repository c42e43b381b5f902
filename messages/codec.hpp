#pragma once

#include <array>
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
  /// Most piece bytes a streamed transfer waiting for the receive budget
  /// holds unanswered: a sender keeps to its window (transport.window x
  /// chunk size), so more is a peer ignoring the protocol.
  uint64_t max_held_bytes = uint64_t{1} << 30;
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

/// One piece of a streamed tensor's values (a TensorData frame), checked
/// (sizes, checksum, finite values). `values` points into the frame, which
/// `owner` keeps alive.
struct tensor_data_view {
  uint64_t transfer_id = 0;
  uint32_t index = 0;
  uint32_t count = 0;
  uint64_t offset = 0;
  span<const float> values;
  std::shared_ptr<const byte_buffer> owner;
};

/// A receiver's answer: it took `pieces` more pieces of transfer
/// `transfer_id`.
struct credit_view {
  uint64_t transfer_id = 0;
  uint32_t pieces = 0;
};

/// A decoded frame: a whole envelope (whose model may be a streamed head,
/// `tensor::stream_id` != 0), one chunk of a larger envelope, one piece of
/// a streamed tensor, or a credit.
/// An invitation to open a bulk link (runtime/net/bulk_link) to the
/// sender's host: its port and the one-time ticket to present.
struct bulk_offer_view {
  uint16_t port = 0;
  std::array<uint8_t, 32> ticket{};
};

using frame = std::variant<envelope, chunk_view, tensor_data_view, credit_view,
                           bulk_offer_view>;

/// Most float values one TensorData piece may hold (a Cap'n Proto list).
constexpr uint64_t max_piece_elements = (uint64_t{1} << 29) - 16;

/// Encodes `env` as ONE frame (no chunking). The model bytes are copied once,
/// straight into the returned buffer. Every tensor in `env` must have
/// `values.size() == layout.numel()` (asserted).
byte_buffer encode(const envelope& env);

/// Encodes `env` and splits it into chunk frames of at most `chunk_bytes`
/// payload each when the encoding is larger; otherwise returns one frame.
/// `transfer_id` must be unique per sender for the chunks' lifetime.
std::vector<byte_buffer> encode_frames(const envelope& env, size_t chunk_bytes,
                                       uint64_t transfer_id);

/// Encodes `env` with its model's values left out: the head of a streamed
/// transfer, `stream_id` = `transfer_id` (!= 0). REQUIRES: model_of(body)
/// is dense. Never throws; errors: `too_large` when the rest of the message
/// does not fit one Cap'n Proto segment.
/// With `bulk`, the head says the values come on the bulk link.
caf::expected<byte_buffer> encode_head(const envelope& env,
                                       uint64_t transfer_id,
                                       bool bulk = false);

/// Encodes a bulk-link invitation.
byte_buffer encode_bulk_offer(uint16_t port,
                              const std::array<uint8_t, 32>& ticket);

/// Encodes one piece of a streamed tensor: `values` are the elements
/// [offset, offset + values.size()). REQUIRES: 1 <= values.size() <=
/// max_piece_elements.
byte_buffer encode_tensor_data(uint64_t transfer_id, uint32_t index,
                               uint32_t count, uint64_t offset,
                               span<const float> values);

/// Encodes a credit for `pieces` pieces of `transfer_id`.
byte_buffer encode_credit(uint64_t transfer_id, uint32_t pieces);

/// Like encode_frames, but never throws: a message Cap'n Proto cannot hold
/// (a segment above 4 GiB) is `too_large`, with its size.
caf::expected<std::vector<byte_buffer>>
try_encode_frames(const envelope& env, size_t chunk_bytes,
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
