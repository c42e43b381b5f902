#pragma once

#include "messages/codec.hpp"

#include <caf/error.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <map>
#include <vector>

namespace fl {

/// How a sender frames messages for one peer.
struct send_settings {
  /// Payload per frame. A message whose model is larger travels streamed
  /// (a head, then pieces of at most this many bytes); another message
  /// whose encoding is larger travels as chunks of this size.
  size_t chunk_bytes = size_t{16} << 20;
  /// Pieces sent and not yet answered by the receiver (back-pressure):
  /// the sender holds at most window x chunk_bytes of encoded pieces.
  uint32_t window = 4;
  /// Largest model accepted for sending, bytes (the receiver's limit).
  uint64_t max_message_bytes = uint64_t{8} << 30;
};

/// The frames one peer is owed, in order. A streamed model is read straight
/// from its buffer (the envelope keeps it alive, nothing is copied up
/// front): each piece is encoded only when the window allows, so a sender
/// holds at most `window` encoded pieces however large the model, and a
/// slow receiver slows the sender instead of growing its buffers.
/// Messages queued behind a streamed model wait for its last piece to be
/// sent (order is kept), except heartbeats, which go at once.
///
/// Not thread-safe; one instance per peer, used from one actor.
class outbox {
public:
  explicit outbox(send_settings s);

  /// Where a big model's values go when a bulk link is up: called with the
  /// transfer id, the values and their owner (to keep them alive).
  using bulk_sink = std::function<void(uint64_t, span<const float>,
                                       std::shared_ptr<const void>)>;

  /// From now on, big models go to `sink` (their heads still go in order
  /// through take()); an empty sink goes back to pieces. At most
  /// `max_bulk_ahead` models are handed to the sink and not reported sent
  /// (bulk_sent): a receiver pairs each head with its values, so heads
  /// must not run far ahead of them.
  void use_bulk(bulk_sink sink) {
    bulk_ = std::move(sink);
    bulk_in_flight_ = 0;
  }

  /// The sink wrote one model's values.
  void bulk_sent() {
    if (bulk_in_flight_ > 0)
      --bulk_in_flight_;
  }

  static constexpr uint32_t max_bulk_ahead = 2;

  /// Queues `env`. Errors (nothing is queued): `too_large` when its model
  /// exceeds max_message_bytes or Cap'n Proto cannot hold the message.
  caf::error push(envelope env);

  /// The frames that may go now, in order.
  std::vector<byte_buffer> take();

  /// The receiver took `pieces` more pieces of `transfer_id`. Errors:
  /// `invalid_field` for a transfer with fewer unanswered pieces (a peer
  /// cannot open the window beyond what was sent).
  caf::error credit(uint64_t transfer_id, uint32_t pieces);

  /// Payload bytes of pieces sent and not answered.
  uint64_t unanswered_bytes() const noexcept { return unanswered_bytes_; }

  /// Messages queued and not fully sent.
  size_t queued() const noexcept { return queue_.size(); }

  const send_settings& settings() const noexcept { return s_; }

private:
  struct item {
    envelope env;                    ///< keeps the model's buffer alive
    std::vector<byte_buffer> frames; ///< a whole or chunked message
    uint64_t stream_id = 0;          ///< != 0: a streamed model
    uint64_t bulk_id = 0;   ///< != 0: values go to the bulk sink
    bool head_sent = false;
    uint32_t next_piece = 0;
    uint32_t pieces = 0;
  };

  uint64_t piece_elements() const;

  send_settings s_;
  std::deque<item> queue_;
  std::vector<byte_buffer> ready_; ///< heartbeats, sent at the next take
  /// Per transfer: payload bytes of each unanswered piece, oldest first.
  std::map<uint64_t, std::deque<uint64_t>> unanswered_;
  uint64_t unanswered_pieces_ = 0;
  uint64_t unanswered_bytes_ = 0;
  uint64_t next_id_ = 1;
  bulk_sink bulk_;
  uint32_t bulk_in_flight_ = 0;
};

} // namespace fl
