#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include <caf/expected.hpp>

#include "messages/codec.hpp"

namespace fl {

/// Turns the frames one peer sends, in order, back into envelopes: whole
/// frames pass straight through; chunks are checked (order, duplicates, gaps,
/// sizes, checksums) and joined into one buffer, which is then decoded. CAF
/// delivers messages between two actors in order, so chunks of one transfer
/// must arrive in order; one transfer is in flight per peer.
///
/// Not thread-safe; one instance per peer, used from one actor.
class frame_assembler {
public:
  explicit frame_assembler(decode_limits limits = {}) : limits_(limits) {}

  /// Feeds one frame. Returns an envelope when a message is complete,
  /// `std::nullopt` while a chunked transfer is still incomplete, or an
  /// error. After an error in a transfer, that transfer is dropped (its
  /// memory freed) and the next one starts clean.
  /// Errors: everything decode_frame reports, plus `chunk_out_of_order`,
  /// `chunk_duplicate`, `chunk_missing`, `checksum_mismatch`,
  /// `size_mismatch`.
  caf::expected<std::optional<envelope>>
  feed(std::shared_ptr<const byte_buffer> bytes);

  /// True while a chunked transfer is incomplete.
  bool in_progress() const noexcept { return buffer_ != nullptr; }

  /// Drops an incomplete transfer, e.g. when the peer is gone.
  /// Returns `chunk_missing` if one was in progress, else none.
  caf::error abandon();

private:
  caf::expected<std::optional<envelope>> add_chunk(const chunk_view& c);
  void reset();

  decode_limits limits_;
  std::shared_ptr<byte_buffer> buffer_;
  uint64_t transfer_id_ = 0;
  uint32_t next_index_ = 0;
  uint32_t count_ = 0;
  uint64_t received_bytes_ = 0;
  uint64_t total_bytes_ = 0;
};

} // namespace fl
