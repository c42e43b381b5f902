#include "messages/outbox.hpp"

#include "runtime/core/errors.hpp"

#include <algorithm>
#include <cassert>

namespace fl {

outbox::outbox(send_settings s) : s_(s) {
  assert(s_.chunk_bytes >= sizeof(float) && s_.window >= 1);
}

uint64_t outbox::piece_elements() const {
  // A multiple of 16 floats, so every piece starts 64-byte aligned.
  const uint64_t n = std::max<uint64_t>(s_.chunk_bytes / sizeof(float), 16);
  return std::min<uint64_t>(n & ~uint64_t{15}, max_piece_elements);
}

caf::error outbox::push(envelope env) {
  item it;
  const auto* model = model_of(env.body);
  const bool big
      = model && !model->packed && model->values.size_bytes() > s_.chunk_bytes;
  if (model && model->payload_bytes() > s_.max_message_bytes)
    return make_fl_error(errc::too_large,
                         "a " + message_name(env.body) + " with a model of "
                             + std::to_string(model->payload_bytes())
                             + " bytes exceeds the message limit of "
                             + std::to_string(s_.max_message_bytes)
                             + " bytes (transport.max_message_mib)");
  const uint64_t id = next_id_++;
  if (big && bulk_) {
    // The head goes in order with the rest; the values go on the link now.
    auto head = encode_head(env, id, true);
    if (!head)
      return std::move(head.error());
    it.bulk_id = id;
    it.frames.push_back(std::move(*head));
  } else if (big) {
    auto head = encode_head(env, id);
    if (!head)
      return std::move(head.error());
    it.frames.push_back(std::move(*head));
    it.stream_id = id;
    const uint64_t n = model->values.size();
    const uint64_t pieces = (n + piece_elements() - 1) / piece_elements();
    if (pieces > UINT32_MAX)
      return make_fl_error(errc::too_large, "a model of more pieces than "
                                            "one transfer may hold");
    it.pieces = static_cast<uint32_t>(pieces);
  } else {
    auto frames = try_encode_frames(env, s_.chunk_bytes, id);
    if (!frames)
      return std::move(frames.error());
    if (std::holds_alternative<heartbeat_msg>(env.body)) {
      for (auto& f : *frames)
        ready_.push_back(std::move(f));
      return caf::none;
    }
    it.frames = std::move(*frames);
  }
  it.env = std::move(env);
  queue_.push_back(std::move(it));
  return caf::none;
}

std::vector<byte_buffer> outbox::take() {
  std::vector<byte_buffer> out = std::move(ready_);
  ready_.clear();
  while (!queue_.empty()) {
    auto& it = queue_.front();
    if (it.bulk_id != 0) {
      if (!bulk_ || bulk_in_flight_ >= max_bulk_ahead)
        break; // wait for the link (a closed link: the owner starts anew)
      const auto* model = model_of(it.env.body);
      bulk_(it.bulk_id, model->values, model->owner);
      ++bulk_in_flight_;
      out.push_back(std::move(it.frames.front()));
      queue_.pop_front();
      continue;
    }
    if (it.stream_id == 0) {
      for (auto& f : it.frames)
        out.push_back(std::move(f));
      queue_.pop_front();
      continue;
    }
    if (!it.head_sent) {
      out.push_back(std::move(it.frames.front()));
      it.frames.clear();
      it.head_sent = true;
    }
    const auto values = model_of(it.env.body)->values;
    const uint64_t per = piece_elements();
    while (it.next_piece < it.pieces && unanswered_pieces_ < s_.window) {
      const uint64_t first = uint64_t{it.next_piece} * per;
      const uint64_t n = std::min<uint64_t>(per, values.size() - first);
      out.push_back(encode_tensor_data(it.stream_id, it.next_piece, it.pieces,
                                       first, values.subspan(first, n)));
      unanswered_[it.stream_id].push_back(n * sizeof(float));
      ++unanswered_pieces_;
      unanswered_bytes_ += n * sizeof(float);
      ++it.next_piece;
    }
    if (it.next_piece < it.pieces)
      break;            // the window is full: wait for credit
    queue_.pop_front(); // every piece is out; the model may be released
  }
  return out;
}

caf::error outbox::credit(uint64_t transfer_id, uint32_t pieces) {
  auto i = unanswered_.find(transfer_id);
  if (i == unanswered_.end() || i->second.size() < pieces)
    return make_fl_error(
        errc::invalid_field,
        "credit for " + std::to_string(pieces) + " pieces of transfer "
            + std::to_string(transfer_id) + ", which has fewer unanswered");
  for (uint32_t k = 0; k < pieces; ++k) {
    unanswered_bytes_ -= i->second.front();
    i->second.pop_front();
  }
  unanswered_pieces_ -= pieces;
  if (i->second.empty())
    unanswered_.erase(i);
  return caf::none;
}

} // namespace fl
