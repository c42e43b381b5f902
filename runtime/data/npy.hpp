#pragma once

#include <string>

#include <caf/expected.hpp>

#include "runtime/data/numeric_array.hpp"

namespace fl {

/// Reads a NumPy `.npy` file (format versions 1-3, as `numpy.save`
/// writes): a C-order array of u1, i1, i2, i4, i8, f4 or f8 in either byte
/// order, gzipped or plain. Object arrays, structured dtypes and Fortran
/// order are refused.
/// Errors: `io_error` (missing, unreadable), `malformed_message` (bad
/// magic, header or dtype; truncated or too long), naming the path and
/// the byte offset.
caf::expected<numeric_array> read_npy(const std::string& path);

} // namespace fl
