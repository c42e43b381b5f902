#include "runtime/data/idx.hpp"

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8)
         | uint32_t{p[3]};
}

caf::error bad(const std::string& path, const std::string& why) {
  return make_fl_error(errc::malformed_message, "'" + path + "': " + why);
}

} // namespace

caf::expected<numeric_array> read_idx_array(const std::string& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes)
    return std::move(bytes.error());
  numeric_array a;
  a.path = path;
  a.big_endian = true;
  a.bytes = std::move(*bytes);
  const auto& b = a.bytes;
  if (b.size() < 4 || b[0] != 0 || b[1] != 0)
    return bad(path, "not an IDX file (bytes 0-1 must be zero)");
  switch (b[2]) {
    case 0x08: a.type = element_type::u8; break;
    case 0x09: a.type = element_type::i8; break;
    case 0x0B: a.type = element_type::i16; break;
    case 0x0C: a.type = element_type::i32; break;
    case 0x0D: a.type = element_type::f32; break;
    case 0x0E: a.type = element_type::f64; break;
    default:
      return bad(path, "unknown IDX element type 0x"
                         + std::to_string(static_cast<int>(b[2]))
                         + " at byte offset 2");
  }
  const size_t dims = b[3];
  if (dims < 1)
    return bad(path, "an IDX array needs at least one dimension (byte 3)");
  a.offset = 4 + 4 * dims;
  if (b.size() < a.offset)
    return bad(path, "truncated in its header (" + std::to_string(b.size())
                       + " bytes)");
  uint64_t numel = 1;
  for (size_t d = 0; d < dims; ++d) {
    const uint32_t n = be32(b.data() + 4 + 4 * d);
    if (n == 0 || n > (1u << 31))
      return bad(path, "dimension " + std::to_string(d) + " is "
                         + std::to_string(n) + " (byte offset "
                         + std::to_string(4 + 4 * d) + ")");
    numel *= n;
    if (numel > (uint64_t{1} << 40))
      return bad(path, "implausibly large array");
    a.shape.push_back(n);
  }
  const uint64_t want = a.offset + numel * element_size(a.type);
  if (b.size() != want)
    return bad(path, (b.size() < want ? "truncated: " : "too long: ")
                       + std::to_string(b.size()) + " bytes, the header says "
                       + std::to_string(want));
  return a;
}

caf::expected<data_split> read_idx(const std::string& samples_path,
                                   const std::string& labels_path) {
  auto s = read_split_files(read_idx_array, samples_path, labels_path,
                            task_kind::classification);
  if (s)
    add_channel_axis(*s);
  return s;
}

void add_channel_axis(data_split& s) {
  if (s.sample_shape.size() == 2)
    s.sample_shape.insert(s.sample_shape.begin(), 1);
}

} // namespace fl
