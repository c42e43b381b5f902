#include "runtime/data/npy.hpp"

#include <cstring>

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

caf::error bad(const std::string& path, const std::string& why) {
  return make_fl_error(errc::malformed_message, "'" + path + "': " + why);
}

/// The text after `'key':` in the header dictionary, or "" when absent.
std::string field(const std::string& header, const std::string& key) {
  auto at = header.find("'" + key + "'");
  if (at == std::string::npos)
    return {};
  at = header.find(':', at);
  if (at == std::string::npos)
    return {};
  ++at;
  while (at < header.size() && header[at] == ' ')
    ++at;
  if (at < header.size() && header[at] == '(') {
    auto end = header.find(')', at);
    return end == std::string::npos ? std::string{}
                                    : header.substr(at, end - at + 1);
  }
  auto end = header.find_first_of(",}", at);
  return header.substr(at, end == std::string::npos ? std::string::npos
                                                    : end - at);
}

caf::error parse_descr(const std::string& path, std::string d,
                       numeric_array& a) {
  if (d.size() < 4 || d.front() != '\'' || d.back() != '\'')
    return bad(path, "unsupported dtype " + d
                       + " (structured dtypes are not supported)");
  d = d.substr(1, d.size() - 2);
  const char order = d[0];
  if (order != '<' && order != '>' && order != '|' && order != '=')
    return bad(path, "unsupported dtype '" + d + "'");
  a.big_endian = order == '>';
  const std::string t = d.substr(1);
  if (t == "u1" || t == "b1")
    a.type = element_type::u8;
  else if (t == "i1")
    a.type = element_type::i8;
  else if (t == "i2")
    a.type = element_type::i16;
  else if (t == "i4")
    a.type = element_type::i32;
  else if (t == "i8")
    a.type = element_type::i64;
  else if (t == "f4")
    a.type = element_type::f32;
  else if (t == "f8")
    a.type = element_type::f64;
  else
    return bad(path, "unsupported dtype '" + d
                       + "' (use uint8, int8-64, float32 or float64)");
  return caf::none;
}

caf::error parse_shape(const std::string& path, const std::string& s,
                       numeric_array& a) {
  if (s.size() < 2 || s.front() != '(' || s.back() != ')')
    return bad(path, "cannot read the shape " + s);
  size_t at = 1;
  while (at < s.size() - 1) {
    while (at < s.size() - 1 && (s[at] == ' ' || s[at] == ','))
      ++at;
    if (at >= s.size() - 1)
      break;
    size_t used = 0;
    long long n = 0;
    try {
      n = std::stoll(s.substr(at), &used);
    } catch (...) {
      return bad(path, "cannot read the shape " + s);
    }
    if (n < 1 || used == 0)
      return bad(path, "shape " + s + " has an empty dimension");
    a.shape.push_back(n);
    at += used;
  }
  if (a.shape.empty())
    return bad(path, "a scalar is not a dataset (shape ())");
  return caf::none;
}

} // namespace

caf::expected<numeric_array> read_npy(const std::string& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes)
    return std::move(bytes.error());
  numeric_array a;
  a.path = path;
  a.bytes = std::move(*bytes);
  const auto& b = a.bytes;
  if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0)
    return bad(path, "not a .npy file (magic \\x93NUMPY missing at offset 0)");
  const int major = b[6];
  size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = b[8] | (size_t{b[9]} << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12)
      return bad(path, "truncated in its header");
    header_len = b[8] | (size_t{b[9]} << 8) | (size_t{b[10]} << 16)
                 | (size_t{b[11]} << 24);
    start = 12;
  } else {
    return bad(path, "unsupported .npy version " + std::to_string(major)
                       + " (byte offset 6)");
  }
  if (b.size() < start + header_len)
    return bad(path, "truncated in its header");
  const std::string header(reinterpret_cast<const char*>(b.data()) + start,
                           header_len);
  if (field(header, "fortran_order").rfind("True", 0) == 0)
    return bad(path, "Fortran-order arrays are not supported (save with "
                     "numpy.ascontiguousarray)");
  if (auto err = parse_descr(path, field(header, "descr"), a))
    return err;
  if (auto err = parse_shape(path, field(header, "shape"), a))
    return err;
  a.offset = start + header_len;
  uint64_t numel = 1;
  for (auto d : a.shape) {
    numel *= static_cast<uint64_t>(d);
    if (numel > (uint64_t{1} << 40))
      return bad(path, "implausibly large array");
  }
  const uint64_t want = a.offset + numel * element_size(a.type);
  if (b.size() != want)
    return bad(path, (b.size() < want ? "truncated: " : "too long: ")
                       + std::to_string(b.size())
                       + " bytes, the header says "
                       + std::to_string(want));
  return a;
}

} // namespace fl
