#pragma once

#include "messages/codec.hpp"
#include "messages/receive_budget.hpp"

#include <caf/expected.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace fl {

/// What one frame yields at the receiver.
struct assembled {
  /// A complete message (a whole frame, the last chunk of a chunked one, or
  /// the last piece of a streamed model).
  std::optional<envelope> message;
  /// Messages that waited behind `message` (its values came on the bulk
  /// link), to deliver after it, in order.
  std::vector<envelope> more;
  /// Pieces of transfer `answer_transfer` taken: answer them with one
  /// Credit (encode_credit) so the sender may go on. 0 pieces = none.
  uint64_t answer_transfer = 0;
  uint32_t answer_pieces = 0;
  /// The peer's credit for a transfer this side sends (for its outbox).
  std::optional<credit_view> credit;
  /// The peer invites this side to open a bulk link.
  std::optional<bulk_offer_view> offer;
};

/// Turns the frames one peer sends, in order, back into envelopes:
/// - a whole frame passes straight through;
/// - chunks of an encoded envelope (the path for messages that are large
///   without a big model, e.g. compressed updates) are checked (order,
///   duplicates, gaps, sizes, checksums) and joined, then decoded;
/// - a streamed model (a head, then TensorData pieces) is written piece by
///   piece into ONE destination buffer of the model's size: no encoded copy
///   and no reassembly buffer. The head is checked before anything is
///   allocated; each piece must continue exactly where the previous ended.
///   The envelope is delivered with its model viewing that buffer.
/// CAF delivers messages between two actors in order, so the frames of one
/// transfer arrive in order; one transfer of each kind is in flight per
/// peer. Whole messages (e.g. heartbeats) may come between the pieces of a
/// streamed model. A model whose values come on the bulk link, and every
/// message after it (heartbeats aside), is delivered once its values are
/// in: the receiver sees messages in the order they were sent.
///
/// With a `receive_budget`, a head whose buffer the budget does not allow
/// now waits: its pieces (at most the sender's window) are held unanswered
/// until resume() finds room.
///
/// Not thread-safe; one instance per peer, used from one actor.
class frame_assembler {
public:
  explicit frame_assembler(decode_limits limits = {},
                           std::shared_ptr<receive_budget> budget = nullptr)
      : limits_(limits), budget_(std::move(budget)) {}

  /// Feeds one frame. After an error, the transfer it belonged to is
  /// dropped (its memory freed) and the next one starts clean.
  /// Errors: everything decode_frame reports, plus `chunk_out_of_order`,
  /// `chunk_duplicate`, `chunk_missing`, `checksum_mismatch`,
  /// `size_mismatch`, `unexpected_message` (a piece without its head, a
  /// second head while one is incomplete), `too_large` (no memory for a
  /// model within the limit).
  caf::expected<assembled> feed(std::shared_ptr<const byte_buffer> bytes);

  /// True while a streamed model waits for room in the budget.
  bool waiting() const noexcept { return head_ && !dest_; }

  /// Retries a waiting model: when the budget now allows it, its held
  /// pieces are written and answered. Errors: as feed.
  caf::expected<assembled> resume();

  /// True while a chunked or streamed transfer is incomplete.
  bool in_progress() const noexcept {
    return buffer_ != nullptr || head_.has_value();
  }

  /// The values of transfer `id` arrived whole and checked on the bulk
  /// link (runtime/net/bulk_link). They complete the head that announced
  /// them, which may come before or after them. Errors: `size_mismatch`
  /// when the head's model has another size, `unexpected_message` when
  /// more arrivals wait for heads than a sender can have in flight.
  caf::expected<assembled>
  bulk_arrived(uint64_t id, std::shared_ptr<float> values, uint64_t numel);

  /// Drops an incomplete transfer, e.g. when the peer is gone.
  /// Returns `chunk_missing` if one was in progress, else none.
  caf::error abandon();

private:
  caf::expected<std::optional<envelope>> add_chunk(const chunk_view& c);
  caf::expected<assembled> add_piece(tensor_data_view p);
  caf::expected<assembled> start_stream(envelope env);
  caf::error write_piece(const tensor_data_view& p);
  caf::expected<assembled> release_ready();
  void reset_chunks();
  void reset_stream();

  decode_limits limits_;
  std::shared_ptr<receive_budget> budget_;
  // A chunked envelope being joined.
  std::shared_ptr<byte_buffer> buffer_;
  uint64_t transfer_id_ = 0;
  uint32_t next_index_ = 0;
  uint32_t count_ = 0;
  uint64_t received_bytes_ = 0;
  uint64_t total_bytes_ = 0;
  // A streamed model being written.
  std::optional<envelope> head_;
  std::shared_ptr<float> dest_;       ///< null while waiting for the budget
  std::deque<tensor_data_view> held_; ///< pieces that came while waiting
  uint64_t held_bytes_ = 0;
  uint32_t next_piece_ = 0;
  uint32_t piece_count_ = 0;
  uint64_t written_ = 0; ///< elements
  // Streamed models whose values come on the bulk link, in the order their
  // heads came, with the messages that came after them (delivered in that
  // order once the values are in); and values that came before their head.
  struct waiting_entry {
    envelope env;
    uint64_t bulk_id = 0; ///< 0: a whole message
  };
  std::deque<waiting_entry> ordered_;
  std::map<uint64_t, std::pair<std::shared_ptr<float>, uint64_t>> bulk_values_;
};

} // namespace fl
