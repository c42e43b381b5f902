#include "messages/chunking.hpp"

#include <cstring>

#include "runtime/core/errors.hpp"
#include "runtime/core/hashing.hpp"

namespace fl {

namespace {

caf::error fail(errc code, std::string what) {
  return make_fl_error(code, std::move(what));
}

std::string transfer_name(uint64_t id) {
  return "transfer " + std::to_string(id);
}

} // namespace

void frame_assembler::reset() {
  buffer_.reset();
  transfer_id_ = 0;
  next_index_ = 0;
  count_ = 0;
  received_bytes_ = 0;
  total_bytes_ = 0;
}

caf::error frame_assembler::abandon() {
  if (!in_progress())
    return caf::none;
  auto err = fail(errc::chunk_missing,
                  transfer_name(transfer_id_) + " ended after "
                    + std::to_string(next_index_) + " of "
                    + std::to_string(count_) + " chunks");
  reset();
  return err;
}

caf::expected<std::optional<envelope>>
frame_assembler::feed(std::shared_ptr<const byte_buffer> bytes) {
  auto f = decode_frame(std::move(bytes), limits_);
  if (!f)
    return std::move(f.error());
  if (auto* env = std::get_if<envelope>(&*f)) {
    if (in_progress()) {
      // A whole message in the middle of a transfer means chunks were lost.
      auto err = abandon();
      return err;
    }
    return std::optional<envelope>{std::move(*env)};
  }
  return add_chunk(std::get<chunk_view>(*f));
}

caf::expected<std::optional<envelope>>
frame_assembler::add_chunk(const chunk_view& c) {
  if (!in_progress()) {
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
    reset();
    return err;
  } else if (c.index < next_index_) {
    auto err = fail(errc::chunk_duplicate,
                    transfer_name(c.transfer_id) + ": chunk "
                      + std::to_string(c.index) + " arrived twice");
    reset();
    return err;
  } else if (c.index > next_index_) {
    auto err = fail(errc::chunk_out_of_order,
                    transfer_name(c.transfer_id) + ": chunk "
                      + std::to_string(c.index) + " arrived while "
                      + std::to_string(next_index_) + " was expected");
    reset();
    return err;
  }
  if (c.count != count_ || c.total_bytes != total_bytes_) {
    auto err = fail(errc::size_mismatch,
                    transfer_name(c.transfer_id)
                      + ": chunk count or total size changed mid-transfer");
    reset();
    return err;
  }
  if (received_bytes_ + c.data.size() > c.total_bytes) {
    auto err = fail(errc::size_mismatch,
                    transfer_name(c.transfer_id) + ": chunks exceed "
                      + std::to_string(c.total_bytes) + " bytes");
    reset();
    return err;
  }
  if (bulk_checksum(c.data.data(), c.data.size()) != c.checksum) {
    auto err = fail(errc::checksum_mismatch,
                    transfer_name(c.transfer_id) + ": chunk "
                      + std::to_string(c.index) + " is corrupt");
    reset();
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
    reset();
    return err;
  }
  std::shared_ptr<const byte_buffer> whole = std::move(buffer_);
  reset();
  auto f = decode_frame(std::move(whole), limits_);
  if (!f)
    return std::move(f.error());
  if (auto* env = std::get_if<envelope>(&*f))
    return std::optional<envelope>{std::move(*env)};
  return fail(errc::unexpected_message, "a chunk nested inside a chunk");
}

} // namespace fl
