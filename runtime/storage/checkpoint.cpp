#include "runtime/storage/checkpoint.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>
#include <vector>

#include "runtime/core/errors.hpp"
#include "runtime/core/hashing.hpp"

namespace fl {

namespace {

constexpr char magic[8] = {'F', 'L', 'C', 'K', 'P', 'T', '0', '1'};

caf::error io_fail(const std::string& what, const std::string& path) {
  return make_fl_error(errc::io_error,
                       what + " '" + path + "': " + std::strerror(errno));
}

template <class T>
void put(std::vector<uint8_t>& out, T x) {
  auto* p = reinterpret_cast<const uint8_t*>(&x);
  out.insert(out.end(), p, p + sizeof(T));
}

class reader {
public:
  reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  template <class T>
  bool get(T& x) {
    if (n_ - pos_ < sizeof(T))
      return false;
    std::memcpy(&x, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool get_bytes(void* dst, size_t len) {
    if (n_ - pos_ < len)
      return false;
    std::memcpy(dst, p_ + pos_, len);
    pos_ += len;
    return true;
  }
  size_t pos() const { return pos_; }

private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

bool write_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    auto w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

std::string dir_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? "." : path.substr(0, pos + 1);
}

} // namespace

std::string checkpoint_path(const std::string& dir) {
  return dir + "/model.ckpt";
}

caf::error save_checkpoint(const std::string& path, const flat_model& model,
                           uint64_t model_version, uint64_t round) {
  return save_checkpoint(path, model.layout(), model.values(), model_version,
                         round);
}

caf::error save_checkpoint(const std::string& path, const model_layout& layout,
                           span<const float> values,
                           uint64_t model_version, uint64_t round) {
  std::vector<uint8_t> head;
  head.insert(head.end(), magic, magic + 8);
  put(head, model_version);
  put(head, round);
  const auto& layers = layout.layers();
  put(head, static_cast<uint64_t>(layers.size()));
  for (const auto& l : layers) {
    put(head, static_cast<uint64_t>(l.name.size()));
    head.insert(head.end(), l.name.begin(), l.name.end());
    put(head, static_cast<uint64_t>(l.shape.size()));
    for (auto d : l.shape)
      put(head, d);
  }
  put(head, static_cast<uint64_t>(values.size()));
  auto* body = reinterpret_cast<const uint8_t*>(values.data());
  const size_t body_len = values.size() * sizeof(float);
  const uint64_t sum = bulk_checksum(head.data(), head.size())
                       ^ bulk_checksum(body, body_len);
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_fail("cannot create checkpoint", tmp);
  bool ok = write_all(fd, head.data(), head.size())
            && write_all(fd, body, body_len)
            && write_all(fd, reinterpret_cast<const uint8_t*>(&sum),
                         sizeof(sum))
            && ::fsync(fd) == 0;
  auto err = ok ? caf::error{} : io_fail("cannot write checkpoint", tmp);
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return err;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    err = io_fail("cannot rename checkpoint to", path);
    ::unlink(tmp.c_str());
    return err;
  }
  // Persist the rename itself.
  int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return caf::none;
}

caf::expected<checkpoint> load_checkpoint(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return io_fail("cannot open checkpoint", path);
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>{in},
                             std::istreambuf_iterator<char>{}};
  auto bad = [&](const std::string& why) {
    return make_fl_error(errc::malformed_message,
                         "checkpoint '" + path + "': " + why);
  };
  if (bytes.size() < 8 + 8 || std::memcmp(bytes.data(), magic, 8) != 0)
    return bad("not a fedactor checkpoint");
  reader r{bytes.data() + 8, bytes.size() - 8};
  checkpoint result;
  uint64_t nlayers = 0;
  if (!r.get(result.model_version) || !r.get(result.round) || !r.get(nlayers)
      || nlayers > (1u << 20))
    return bad("truncated header");
  std::vector<std::pair<std::string, std::vector<int64_t>>> specs;
  for (uint64_t i = 0; i < nlayers; ++i) {
    uint64_t len = 0;
    if (!r.get(len) || len > 4096)
      return bad("truncated layer name");
    std::string name(len, '\0');
    uint64_t ndims = 0;
    if (!r.get_bytes(name.data(), len) || !r.get(ndims) || ndims > 64)
      return bad("truncated layer");
    std::vector<int64_t> dims(ndims);
    for (auto& d : dims)
      if (!r.get(d))
        return bad("truncated shape");
    specs.emplace_back(std::move(name), std::move(dims));
  }
  uint64_t numel = 0;
  if (!r.get(numel))
    return bad("truncated header");
  auto layout = model_layout::make(std::move(specs));
  if (!layout)
    return bad(describe(layout.error()));
  if (layout->numel() != numel)
    return bad("element count does not match the layout");
  const size_t head_len = 8 + r.pos();
  if (bytes.size() != head_len + numel * sizeof(float) + sizeof(uint64_t))
    return bad("truncated data");
  uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  const uint64_t sum = bulk_checksum(bytes.data(), head_len)
                       ^ bulk_checksum(bytes.data() + head_len,
                                       numel * sizeof(float));
  if (sum != stored)
    return make_fl_error(errc::checksum_mismatch,
                         "checkpoint '" + path + "' is corrupt");
  result.model = flat_model{std::move(*layout)};
  std::memcpy(result.model.data(), bytes.data() + head_len,
              numel * sizeof(float));
  return result;
}

} // namespace fl
