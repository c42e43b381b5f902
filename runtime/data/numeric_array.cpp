#include "runtime/data/numeric_array.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <zlib.h>

#include "runtime/core/errors.hpp"

namespace fl {

int64_t shape_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto d : shape)
    n *= d;
  return n;
}

int64_t numeric_array::numel() const {
  return shape_numel(shape);
}

size_t element_size(element_type t) {
  switch (t) {
    case element_type::u8:
    case element_type::i8:
      return 1;
    case element_type::i16:
      return 2;
    case element_type::i32:
    case element_type::f32:
      return 4;
    default:
      return 8;
  }
}

caf::expected<std::vector<uint8_t>> read_file_bytes(const std::string& path) {
  // zlib passes plain files through unchanged, so one reader serves both.
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr)
    return make_fl_error(errc::io_error, "cannot open '" + path
                                           + "': " + std::strerror(errno));
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int code = 0;
      std::string why = gzerror(f, &code);
      gzclose(f);
      return make_fl_error(errc::io_error,
                           "cannot read '" + path + "': " + why);
    }
    if (n == 0)
      break;
    out.insert(out.end(), buf.data(), buf.data() + n);
  }
  gzclose(f);
  return out;
}

namespace {

/// Copies element `i` of `a` into `raw` in the machine's byte order (the
/// machine is little-endian: x86-64, aarch64; big-endian input is swapped).
void load_element(const numeric_array& a, int64_t i, uint8_t (&raw)[8]) {
  const size_t size = element_size(a.type);
  const uint8_t* src = a.bytes.data() + a.offset + static_cast<size_t>(i) * size;
  for (size_t k = 0; k < size; ++k)
    raw[k] = a.big_endian ? src[size - 1 - k] : src[k];
}

/// Element `i` of `a` as a double.
double value_at(const numeric_array& a, int64_t i) {
  uint8_t raw[8];
  load_element(a, i, raw);
  switch (a.type) {
    case element_type::u8:
      return raw[0];
    case element_type::i8:
      return static_cast<int8_t>(raw[0]);
    case element_type::i16: {
      int16_t v;
      std::memcpy(&v, raw, 2);
      return v;
    }
    case element_type::i32: {
      int32_t v;
      std::memcpy(&v, raw, 4);
      return v;
    }
    case element_type::i64: {
      int64_t v;
      std::memcpy(&v, raw, 8);
      return static_cast<double>(v);
    }
    case element_type::f32: {
      float v;
      std::memcpy(&v, raw, 4);
      return v;
    }
    default: {
      double v;
      std::memcpy(&v, raw, 8);
      return v;
    }
  }
}

} // namespace

std::vector<float> to_floats(const numeric_array& a, bool scale_bytes) {
  const int64_t n = a.numel();
  std::vector<float> out(static_cast<size_t>(n));
  const uint8_t* src = a.bytes.data() + a.offset;
  if (a.type == element_type::u8) {
    const float scale = scale_bytes ? 1.0f / 255.0f : 1.0f;
    for (int64_t i = 0; i < n; ++i)
      out[i] = static_cast<float>(src[i]) * scale;
  } else if (a.type == element_type::f32 && !a.big_endian) {
    std::memcpy(out.data(), src, out.size() * sizeof(float));
  } else {
    for (int64_t i = 0; i < n; ++i)
      out[i] = static_cast<float>(value_at(a, i));
  }
  return out;
}

caf::expected<std::vector<int64_t>> to_integers(const numeric_array& a) {
  const int64_t n = a.numel();
  std::vector<int64_t> out(static_cast<size_t>(n));
  const bool exact = a.type != element_type::f32 && a.type != element_type::f64;
  for (int64_t i = 0; i < n; ++i) {
    if (a.type == element_type::i64) {
      // Through a double would round ids above 2^53.
      int64_t v;
      uint8_t raw[8];
      load_element(a, i, raw);
      std::memcpy(&v, raw, 8);
      out[i] = v;
      continue;
    }
    const double v = value_at(a, i);
    if (!exact && (!std::isfinite(v) || std::floor(v) != v || std::fabs(v) > 9e15))
      return make_fl_error(errc::malformed_message,
                           "'" + a.path + "': value " + std::to_string(i)
                             + " (" + std::to_string(v)
                             + ") is not a whole number");
    out[i] = static_cast<int64_t>(v);
  }
  return out;
}

} // namespace fl
