#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace fl {

/// Element types the array files (IDX, NumPy .npy) can hold.
enum class element_type : uint8_t { u8, i8, i16, i32, i64, f32, f64 };

/// A dense n-dimensional array read from a file, still in its file's
/// element type and byte order: `bytes[offset, offset + numel * size)`
/// are the values in row-major order. The loaders convert it once into the
/// dataset's float features or integer labels.
struct numeric_array {
  std::string path;         ///< where it came from (for messages)
  std::vector<int64_t> shape;
  element_type type = element_type::u8;
  bool big_endian = false;
  std::vector<uint8_t> bytes; ///< the whole file
  size_t offset = 0;          ///< first value's byte offset in `bytes`

  int64_t numel() const;
};

/// The number of values of an array shaped `shape` (1 for no dimension).
int64_t shape_numel(const std::vector<int64_t>& shape);

/// Bytes per element of `t`.
size_t element_size(element_type t);

/// Reads a whole file; gzipped files (by their magic bytes) are inflated
/// through zlib. Errors: `io_error` with the path and the reason.
caf::expected<std::vector<uint8_t>> read_file_bytes(const std::string& path);

/// The values as floats. Unsigned bytes are read as pixels and scaled to
/// [0, 1] when `scale_bytes`; every other type converts as is.
std::vector<float> to_floats(const numeric_array& a, bool scale_bytes);

/// The values as integers (e.g. class labels or owner ids).
/// Errors: `malformed_message` when a float value is not a whole number,
/// naming the file and the index.
caf::expected<std::vector<int64_t>> to_integers(const numeric_array& a);

} // namespace fl
