#pragma once

#include <string>

#include <caf/expected.hpp>

#include "runtime/data/dataset.hpp"
#include "runtime/data/numeric_array.hpp"

namespace fl {

/// Reads one IDX file (the MNIST family's format: two zero bytes, a type
/// byte 0x08 u8 | 0x09 i8 | 0x0B i16 | 0x0C i32 | 0x0D f32 | 0x0E f64, a
/// dimension count, big-endian u32 dimensions, big-endian values), gzipped
/// or plain.
/// Errors: `io_error` (missing, unreadable), `malformed_message` (bad
/// magic or type, truncated or too long: with the path and byte offset).
caf::expected<numeric_array> read_idx_array(const std::string& path);

/// Gives images a channel axis as PyTorch models expect it: samples of
/// shape [rows, cols] become [1, rows, cols] (no copy; other shapes stay).
void add_channel_axis(data_split& s);

/// Reads a sample file (first dimension = samples; u8 values are pixels
/// scaled to [0, 1]; images get a channel axis, [1, rows, cols]) and its
/// label file (one dimension, whole numbers) into a classification split.
/// Errors: as read_idx_array; `malformed_message` when the counts differ.
caf::expected<data_split> read_idx(const std::string& samples_path,
                                   const std::string& labels_path);

} // namespace fl
