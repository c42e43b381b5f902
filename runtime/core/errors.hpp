#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace fl {

/// Every error fedactor reports itself. Non-actor code returns
/// `caf::expected<T>` or `caf::error` built from these codes with a context
/// string that names the offending value; nothing throws across actors.
enum class errc : uint8_t {
  /// Not an error; never returned.
  none = 0,
  /// A wire message is shorter than its headers or its segment table claims.
  truncated_message,
  /// A wire message is not a valid Cap'n Proto message or exceeds the
  /// traversal limit (pointer loops, amplification).
  malformed_message,
  /// A wire enum holds a value this build does not know.
  unknown_enum_value,
  /// A size field disagrees with the data it describes (layer shapes vs.
  /// element count, slice offsets, chunk sizes).
  size_mismatch,
  /// The layout hash on the wire does not match the layout it describes,
  /// or the layout does not match the model the receiver holds.
  layout_mismatch,
  /// A tensor holds NaN or Inf where finite values are required.
  non_finite_value,
  /// A dtype the receiver cannot process.
  unsupported_dtype,
  /// A chunk arrived after a later one of the same transfer.
  chunk_out_of_order,
  /// A chunk of a transfer arrived twice.
  chunk_duplicate,
  /// A transfer ended (or was superseded) with chunks never received.
  chunk_missing,
  /// A chunk's checksum does not match its data.
  checksum_mismatch,
  /// A message or transfer exceeds the configured size limit.
  too_large,
  /// A field value is outside its documented range.
  invalid_field,
  /// A peer sent a message that is not valid in the current protocol state.
  unexpected_message,
  /// A join was refused: bad or missing authentication token.
  unauthorized,
  /// A configuration file or flag is invalid (unknown key, wrong type,
  /// value out of range).
  invalid_config,
  /// A file could not be read, written or parsed.
  io_error,
  /// A remote peer did not answer in time.
  timeout,
  /// A remote peer went away (connection lost or process ended).
  peer_lost,
  /// An update's base version is newer than the server's model.
  version_from_future,
  /// An update is staler than the configured bound.
  too_stale,
  /// Functionality that this build or this version does not provide.
  not_implemented,
  /// One client's update was refused by the model guard (its change is
  /// beyond the configured bound, or it claims more samples than it may).
  rejected_update,
  /// A candidate global model was refused by the model guard (non-finite
  /// values, or a change beyond the configured bound); the previous model
  /// stays.
  rejected_model,
  /// A client could not train (its trainer failed or threw).
  training_failed,
};

/// Returns the enumerator's name, e.g. "chunk_missing".
std::string to_string(errc x);

/// Short form: a `caf::error` in the fl category with a context message.
caf::error make_fl_error(errc code, std::string context);

/// True when `err` is the fl error `code` (false for other categories).
bool has_code(const caf::error& err, errc code);

/// Renders any `caf::error` (ours or CAF's) as "category: code (context)".
std::string describe(const caf::error& err);

} // namespace fl

CAF_ERROR_CODE_ENUM(fl::errc, "fl")
