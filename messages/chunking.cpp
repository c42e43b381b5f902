#include "messages/chunking.hpp"

#include "runtime/core/errors.hpp"
#include "runtime/core/hashing.hpp"

#include <cstring>

namespace fl {

namespace {

caf::error fail(errc code, std::string what) {
  return make_fl_error(code, std::move(what));
}

std::string transfer_name(uint64_t id) {
  return "transfer " + std::to_string(id);
}

/// Pieces a waiting transfer may hold: far above any sender's window
/// (transport.window_pieces is at most 64).
constexpr size_t max_held_pieces = 64;

/// Bulk heads, or bulk values, waiting for their other half: a sender has
/// one transfer on the bulk link at a time and its head on its way, so a
/// few is plenty.
constexpr size_t max_unpaired = 4;

/// Messages that may wait behind unfinished bulk transfers.
constexpr size_t max_waiting = 256;

} // namespace

void frame_assembler::reset_chunks() {
  buffer_.reset();
  transfer_id_ = 0;
  next_index_ = 0;
  count_ = 0;
  received_bytes_ = 0;
  total_bytes_ = 0;
}

void frame_assembler::reset_stream() {
  head_.reset();
  dest_.reset();
  held_.clear();
  held_bytes_ = 0;
  next_piece_ = 0;
  piece_count_ = 0;
  written_ = 0;
}

caf::error frame_assembler::abandon() {
  caf::error err;
  if (buffer_) {
    err = fail(errc::chunk_missing, transfer_name(transfer_id_)
                                        + " ended after "
                                        + std::to_string(next_index_) + " of "
                                        + std::to_string(count_) + " chunks");
  } else if (head_) {
    err = fail(errc::chunk_missing,
               "streamed " + message_name(head_->body) + " ended after "
                   + std::to_string(written_) + " of "
                   + std::to_string(model_of(head_->body)->layout.numel())
                   + " values");
  }
  if (!err && (!ordered_.empty() || !bulk_values_.empty()))
    err = fail(errc::chunk_missing,
               std::to_string(ordered_.size() + bulk_values_.size())
                   + " messages and bulk transfers ended half-way");
  ordered_.clear();
  bulk_values_.clear();
  reset_chunks();
  reset_stream();
  return err;
}

caf::expected<assembled>
frame_assembler::feed(std::shared_ptr<const byte_buffer> bytes) {
  auto f = decode_frame(std::move(bytes), limits_);
  if (!f)
    return std::move(f.error());
  assembled out;
  if (auto* env = std::get_if<envelope>(&*f)) {
    if (buffer_) {
      // A whole message in the middle of a chunked transfer means chunks
      // were lost.
      return abandon();
    }
    auto* t = model_of(env->body);
    if (t && t->stream_id != 0)
      return start_stream(std::move(*env));
    if (!ordered_.empty()
        && !std::holds_alternative<heartbeat_msg>(env->body)) {
      // Behind a model whose values are still on the bulk link: delivered
      // after it, in the order sent (an async client's Request must not
      // overtake its Update). Heartbeats need no order.
      if (ordered_.size() >= max_waiting)
        return fail(errc::unexpected_message,
                    "more messages behind an unfinished bulk transfer than "
                    "a sender can have sent");
      ordered_.push_back(waiting_entry{std::move(*env), 0});
      return out;
    }
    out.message = std::move(*env);
    return out;
  }
  if (auto* c = std::get_if<chunk_view>(&*f)) {
    if (head_) {
      auto err = abandon();
      return fail(errc::unexpected_message,
                  "a chunk inside a streamed transfer: " + describe(err));
    }
    auto msg = add_chunk(*c);
    if (!msg)
      return std::move(msg.error());
    out.message = std::move(*msg);
    return out;
  }
  if (auto* p = std::get_if<tensor_data_view>(&*f))
    return add_piece(std::move(*p));
  if (auto* o = std::get_if<bulk_offer_view>(&*f)) {
    out.offer = *o;
    return out;
  }
  out.credit = std::get<credit_view>(*f);
  return out;
}

caf::expected<assembled>
frame_assembler::bulk_arrived(uint64_t id, std::shared_ptr<float> values,
                              uint64_t numel) {
  if (bulk_values_.size() >= max_unpaired || bulk_values_.count(id) > 0) {
    bulk_values_.clear();
    return fail(errc::unexpected_message,
                "bulk values of " + transfer_name(id)
                    + " without a head, beyond what a sender has in flight");
  }
  bulk_values_.emplace(id, std::make_pair(std::move(values), numel));
  return release_ready();
}

caf::expected<assembled> frame_assembler::release_ready() {
  assembled out;
  while (!ordered_.empty()) {
    auto& front = ordered_.front();
    if (front.bulk_id != 0) {
      auto v = bulk_values_.find(front.bulk_id);
      if (v == bulk_values_.end())
        break; // its values are still on their way; the rest waits too
      auto [values, numel] = std::move(v->second);
      bulk_values_.erase(v);
      auto* t = model_of(front.env.body);
      if (t->layout.numel() != numel) {
        const auto id = front.bulk_id;
        ordered_.clear();
        return fail(errc::size_mismatch,
                    transfer_name(id) + ": the bulk link carried "
                        + std::to_string(numel) + " values for a model of "
                        + std::to_string(t->layout.numel()));
      }
      t->values = span<const float>{values.get(), numel};
      t->owner = std::move(values);
      t->stream_id = 0;
      t->bulk = false;
    }
    if (!out.message)
      out.message = std::move(front.env);
    else
      out.more.push_back(std::move(front.env));
    ordered_.pop_front();
  }
  return out;
}

caf::expected<assembled> frame_assembler::start_stream(envelope env) {
  const auto* head = model_of(env.body);
  if (head->bulk) {
    const uint64_t id = head->stream_id;
    size_t heads = 0;
    for (const auto& e : ordered_)
      heads += e.bulk_id != 0 ? 1 : 0;
    if (heads >= max_unpaired) {
      ordered_.clear();
      return fail(errc::unexpected_message,
                  "a bulk head for " + transfer_name(id)
                      + " beyond what a sender has in flight");
    }
    ordered_.push_back(waiting_entry{std::move(env), id});
    return release_ready();
  }
  if (head_) {
    auto err = abandon();
    return fail(errc::unexpected_message,
                "a streamed transfer began before the previous one ended: "
                    + describe(err));
  }
  const auto* t = model_of(env.body);
  if (t->layout.numel() == 0)
    return fail(errc::invalid_field, "a streamed model without values");
  head_ = std::move(env);
  return resume();
}

caf::expected<assembled> frame_assembler::resume() {
  assembled out;
  if (!waiting())
    return out;
  const uint64_t numel = model_of(head_->body)->layout.numel();
  try {
    dest_ = budget_ ? budget_->try_allocate(numel) : allocate_floats(numel);
  } catch (const std::bad_alloc&) {
    reset_stream();
    return fail(errc::too_large, "no memory for a streamed model of "
                                     + std::to_string(numel * sizeof(float))
                                     + " bytes");
  }
  if (!dest_)
    return out; // still waiting; the held pieces stay unanswered
  out.answer_transfer = model_of(head_->body)->stream_id;
  held_bytes_ = 0;
  while (!held_.empty()) {
    auto p = std::move(held_.front());
    held_.pop_front();
    if (auto err = write_piece(p)) {
      reset_stream();
      return err;
    }
    ++out.answer_pieces;
  }
  if (written_ == numel) {
    auto* t = model_of(head_->body);
    t->values = span<const float>{dest_.get(), numel};
    t->owner = std::move(dest_);
    t->stream_id = 0;
    out.message = std::move(*head_);
    reset_stream();
  }
  return out;
}

caf::expected<assembled> frame_assembler::add_piece(tensor_data_view p) {
  if (!head_)
    return fail(errc::unexpected_message, "a piece of "
                                              + transfer_name(p.transfer_id)
                                              + ", which was never announced");
  if (p.transfer_id != model_of(head_->body)->stream_id) {
    auto err = abandon();
    return fail(errc::chunk_missing, "a piece of "
                                         + transfer_name(p.transfer_id)
                                         + " cut off " + describe(err));
  }
  if (dest_) {
    if (auto err = write_piece(p)) {
      reset_stream();
      return err;
    }
    assembled out;
    out.answer_transfer = p.transfer_id;
    out.answer_pieces = 1;
    auto* t = model_of(head_->body);
    if (written_ == t->layout.numel()) {
      t->values = span<const float>{dest_.get(), written_};
      t->owner = std::move(dest_);
      t->stream_id = 0;
      out.message = std::move(*head_);
      reset_stream();
    }
    return out;
  }
  // Waiting for the budget: a sender keeps to its window, so more held
  // pieces than any window allows is a peer ignoring the protocol.
  held_bytes_ += p.values.size_bytes();
  if (held_.size() >= max_held_pieces || held_bytes_ > limits_.max_held_bytes) {
    reset_stream();
    return fail(errc::unexpected_message,
                transfer_name(p.transfer_id)
                    + ": more pieces than the window allows");
  }
  held_.push_back(std::move(p));
  return assembled{};
}

caf::error frame_assembler::write_piece(const tensor_data_view& p) {
  const uint64_t numel = model_of(head_->body)->layout.numel();
  if (p.index != next_piece_)
    return fail(p.index < next_piece_ ? errc::chunk_duplicate
                                      : errc::chunk_out_of_order,
                transfer_name(p.transfer_id) + ": piece "
                    + std::to_string(p.index) + " arrived while "
                    + std::to_string(next_piece_) + " was expected");
  if (next_piece_ == 0)
    piece_count_ = p.count;
  else if (p.count != piece_count_)
    return fail(errc::size_mismatch,
                transfer_name(p.transfer_id) + ": piece count changed");
  if (p.offset != written_ || p.values.size() > numel - written_)
    return fail(errc::size_mismatch,
                transfer_name(p.transfer_id) + ": piece at element "
                    + std::to_string(p.offset) + " with "
                    + std::to_string(p.values.size()) + " values, where "
                    + std::to_string(written_) + " of " + std::to_string(numel)
                    + " were written");
  const bool last = p.index + 1 == piece_count_;
  if (last != (written_ + p.values.size() == numel))
    return fail(errc::size_mismatch,
                transfer_name(p.transfer_id) + ": pieces end at element "
                    + std::to_string(written_ + p.values.size()) + " of "
                    + std::to_string(numel));
  std::memcpy(dest_.get() + written_, p.values.data(), p.values.size_bytes());
  written_ += p.values.size();
  ++next_piece_;
  return caf::none;
}

caf::expected<std::optional<envelope>>
frame_assembler::add_chunk(const chunk_view& c) {
  if (!buffer_) {
    if (c.index != 0) {
      return fail(errc::chunk_missing,
                  transfer_name(c.transfer_id) + " starts at chunk "
                      + std::to_string(c.index) + " instead of 0");
    }
    buffer_ = std::make_shared<byte_buffer>();
    // Size is checked against the limit by decode_frame; reserve once so the
    // transfer is assembled without reallocation.
    buffer_->reserve(c.total_bytes);
    transfer_id_ = c.transfer_id;
    count_ = c.count;
    total_bytes_ = c.total_bytes;
  } else if (c.transfer_id != transfer_id_) {
    auto err = fail(errc::chunk_missing,
                    transfer_name(transfer_id_) + " was cut off after "
                        + std::to_string(next_index_) + " of "
                        + std::to_string(count_) + " chunks by "
                        + transfer_name(c.transfer_id));
    reset_chunks();
    return err;
  } else if (c.index < next_index_) {
    auto err = fail(errc::chunk_duplicate,
                    transfer_name(c.transfer_id) + ": chunk "
                        + std::to_string(c.index) + " arrived twice");
    reset_chunks();
    return err;
  } else if (c.index > next_index_) {
    auto err = fail(errc::chunk_out_of_order,
                    transfer_name(c.transfer_id) + ": chunk "
                        + std::to_string(c.index) + " arrived while "
                        + std::to_string(next_index_) + " was expected");
    reset_chunks();
    return err;
  }
  if (c.count != count_ || c.total_bytes != total_bytes_) {
    auto err = fail(errc::size_mismatch,
                    transfer_name(c.transfer_id)
                        + ": chunk count or total size changed mid-transfer");
    reset_chunks();
    return err;
  }
  if (received_bytes_ + c.data.size() > c.total_bytes) {
    auto err = fail(errc::size_mismatch,
                    transfer_name(c.transfer_id) + ": chunks exceed "
                        + std::to_string(c.total_bytes) + " bytes");
    reset_chunks();
    return err;
  }
  if (bulk_checksum(c.data.data(), c.data.size()) != c.checksum) {
    auto err = fail(errc::checksum_mismatch,
                    transfer_name(c.transfer_id) + ": chunk "
                        + std::to_string(c.index) + " is corrupt");
    reset_chunks();
    return err;
  }
  buffer_->insert(buffer_->end(), c.data.begin(), c.data.end());
  received_bytes_ += c.data.size();
  ++next_index_;
  if (next_index_ < count_)
    return std::optional<envelope>{};
  if (received_bytes_ != c.total_bytes) {
    auto err = fail(errc::chunk_missing,
                    transfer_name(c.transfer_id) + ": got "
                        + std::to_string(received_bytes_) + " of "
                        + std::to_string(c.total_bytes) + " bytes");
    reset_chunks();
    return err;
  }
  std::shared_ptr<const byte_buffer> whole = std::move(buffer_);
  reset_chunks();
  auto f = decode_frame(std::move(whole), limits_);
  if (!f)
    return std::move(f.error());
  if (auto* env = std::get_if<envelope>(&*f))
    return std::optional<envelope>{std::move(*env)};
  return fail(errc::unexpected_message, "a chunk nested inside a chunk");
}

} // namespace fl
