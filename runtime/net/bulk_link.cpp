#include "runtime/net/bulk_link.hpp"

#include "runtime/core/errors.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <vector>

namespace fl::net {

namespace {

/// A block's header: five little-endian uint64 (this code runs on
/// little-endian hosts only, like the float values it carries). The bytes'
/// integrity is TCP's: the values go from the socket straight into their
/// place, through no buffer of ours that could garble them.
struct block_header {
  uint64_t transfer_id;
  uint64_t numel;
  uint64_t offset;
  uint64_t count;
  uint64_t reserved; ///< 0
};
static_assert(sizeof(block_header) == 40, "five uint64");

caf::error io_fail(const std::string& what) {
  return make_fl_error(errc::io_error, what + ": " + std::strerror(errno));
}

double now_s() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Reads exactly `n` bytes; false on end of stream or an error. `clean`
/// (if given) tells whether the stream ended before the first byte.
bool read_full(int fd, void* to, size_t n, bool* clean = nullptr) {
  auto* p = static_cast<char*>(to);
  if (clean)
    *clean = false;
  const size_t total = n;
  while (n > 0) {
    auto got = ::recv(fd, p, n, 0);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      if (clean)
        *clean = got == 0 && n == total;
      return false;
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

/// Writes the header and the block's bytes (straight from the model).
bool write_block(int fd, const block_header& h, const float* data) {
  iovec iov[2];
  iov[0].iov_base = const_cast<block_header*>(&h);
  iov[0].iov_len = sizeof(h);
  iov[1].iov_base = const_cast<float*>(data);
  iov[1].iov_len = h.count * sizeof(float);
  int first = 0;
  while (first < 2) {
    msghdr msg{};
    msg.msg_iov = iov + first;
    msg.msg_iovlen = static_cast<size_t>(2 - first);
    auto sent = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR)
      continue;
    if (sent <= 0)
      return false;
    auto left = static_cast<size_t>(sent);
    while (first < 2 && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (first < 2) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return true;
}

} // namespace

bulk_ticket make_bulk_ticket() {
  bulk_ticket t{};
  if (RAND_bytes(t.data(), static_cast<int>(t.size())) != 1)
    throw std::runtime_error("no randomness for a bulk ticket");
  return t;
}

// -- link ---------------------------------------------------------------------

bulk_link::bulk_link(int fd, bulk_hooks hooks, bulk_limits limits)
    : fd_(fd), hooks_(std::move(hooks)), limits_(limits) {
  writer_ = std::thread{[this] { write_loop(); }};
  reader_ = std::thread{[this] { read_loop(); }};
}

bulk_link::~bulk_link() {
  stop_ = true;
  ::shutdown(fd_, SHUT_RDWR);
  cv_.notify_all();
  writer_.join();
  reader_.join();
  ::close(fd_);
}

void bulk_link::send(uint64_t transfer_id, span<const float> values,
                     std::shared_ptr<const void> owner) {
  {
    std::lock_guard<std::mutex> guard{mx_};
    jobs_.push_back(job{transfer_id, values, std::move(owner)});
  }
  cv_.notify_all();
}

void bulk_link::close(const caf::error& why) {
  std::call_once(closed_once_, [&] {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    cv_.notify_all();
    if (hooks_.closed)
      hooks_.closed(why);
  });
}

void bulk_link::write_loop() {
  for (;;) {
    job j;
    {
      std::unique_lock<std::mutex> lock{mx_};
      cv_.wait(lock, [&] { return stop_.load() || !jobs_.empty(); });
      if (stop_)
        return;
      j = std::move(jobs_.front());
      jobs_.pop_front();
    }
    const uint64_t n = j.values.size();
    for (uint64_t at = 0; at < n && !stop_;) {
      const uint64_t count = std::min(limits_.block_values, n - at);
      const float* data = j.values.data() + at;
      block_header h{j.id, n, at, count, 0};
      if (!write_block(fd_, h, data)) {
        close(stop_ ? caf::error{} : io_fail("bulk link write"));
        return;
      }
      at += count;
    }
    if (!stop_ && hooks_.sent)
      hooks_.sent(j.id);
  }
}

void bulk_link::read_loop() {
  while (!stop_) {
    block_header h{};
    bool clean = false;
    if (!read_full(fd_, &h, sizeof(h), &clean)) {
      // Closed between transfers: the other side ended in order.
      close(stop_ || clean
                ? caf::error{}
                : make_fl_error(errc::peer_lost, "bulk link broke off"));
      return;
    }
    if (h.offset != 0) {
      close(make_fl_error(errc::chunk_missing,
                          "bulk link: a block at element "
                              + std::to_string(h.offset) + " starts transfer "
                              + std::to_string(h.transfer_id)));
      return;
    }
    if (auto err = read_transfer(h.transfer_id, h.numel, h.count, h.reserved)) {
      close(err);
      return;
    }
  }
}

caf::error bulk_link::read_transfer(uint64_t id, uint64_t numel,
                                    uint64_t first_count,
                                    uint64_t first_reserved) {
  const auto name = "bulk transfer " + std::to_string(id);
  if (id == 0 || numel == 0 || numel > limits_.max_values)
    return make_fl_error(errc::too_large,
                         name + " of " + std::to_string(numel)
                             + " values refused (limit "
                             + std::to_string(limits_.max_values) + ")");
  // Blocks until the owner's budget allows it: meanwhile nothing is read and
  // the sender stalls in TCP.
  auto dest = hooks_.allocate(numel, stop_);
  if (!dest)
    return caf::none; // stopping
  uint64_t at = 0;
  uint64_t count = first_count;
  uint64_t reserved = first_reserved;
  for (;;) {
    if (reserved != 0)
      return make_fl_error(errc::invalid_field,
                           name + ": a block header's reserved field is set");
    if (count == 0 || count > limits_.block_values || count > numel - at)
      return make_fl_error(errc::size_mismatch,
                           name + ": a block of " + std::to_string(count)
                               + " values at element " + std::to_string(at)
                               + " of " + std::to_string(numel));
    float* block = dest.get() + at;
    if (!read_full(fd_, block, count * sizeof(float)))
      return stop_ ? caf::none
                   : make_fl_error(errc::chunk_missing,
                                   name + " ended after " + std::to_string(at)
                                       + " of " + std::to_string(numel)
                                       + " values");
    if (hooks_.valid && !hooks_.valid(span<const float>{block, count}))
      return make_fl_error(errc::non_finite_value, name + " holds NaN or Inf");
    at += count;
    if (at == numel)
      break;
    block_header h{};
    if (!read_full(fd_, &h, sizeof(h)))
      return stop_ ? caf::none
                   : make_fl_error(errc::chunk_missing,
                                   name + " ended after " + std::to_string(at)
                                       + " of " + std::to_string(numel)
                                       + " values");
    if (h.transfer_id != id || h.numel != numel || h.offset != at)
      return make_fl_error(errc::size_mismatch,
                           name + ": a block of transfer "
                               + std::to_string(h.transfer_id) + " at element "
                               + std::to_string(h.offset) + " where element "
                               + std::to_string(at) + " was expected");
    count = h.count;
    reserved = h.reserved;
  }
  hooks_.arrived(id, std::move(dest), numel);
  return caf::none;
}

caf::expected<int> bulk_link::dial(const std::string& host, uint16_t port,
                                   const bulk_ticket& ticket,
                                   double timeout_s) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const auto service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res))
    return make_fl_error(errc::io_error, "bulk link: cannot resolve " + host
                                             + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard{res, ::freeaddrinfo};
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return io_fail("bulk link: socket");
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_s);
  tv.tv_usec = static_cast<suseconds_t>((timeout_s - tv.tv_sec) * 1e6);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    auto err = io_fail("bulk link: connect to " + host + ":" + service);
    ::close(fd);
    return err;
  }
  if (::send(fd, ticket.data(), ticket.size(), MSG_NOSIGNAL)
      != static_cast<ssize_t>(ticket.size())) {
    auto err = io_fail("bulk link: ticket");
    ::close(fd);
    return err;
  }
  tv = timeval{};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

// -- listener -----------------------------------------------------------------

caf::expected<std::unique_ptr<bulk_listener>>
bulk_listener::listen(const std::string& host, double ticket_timeout_s,
                      size_t max_pending, double ticket_ttl_s) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const char* node = host.empty() || host == "0.0.0.0" ? nullptr : host.c_str();
  if (int rc = ::getaddrinfo(node, "0", &hints, &res))
    return make_fl_error(errc::io_error, "bulk listener: cannot resolve " + host
                                             + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard{res, ::freeaddrinfo};
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return io_fail("bulk listener: socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 64) != 0) {
    auto err = io_fail("bulk listener: listen on " + host);
    ::close(fd);
    return err;
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t port
      = ntohs(addr.ss_family == AF_INET6
                  ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                  : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return std::unique_ptr<bulk_listener>{
      new bulk_listener{fd, port, ticket_timeout_s, max_pending, ticket_ttl_s}};
}

bulk_listener::bulk_listener(int fd, uint16_t port, double timeout_s,
                             size_t max_pending, double ttl_s)
    : fd_(fd), port_(port), timeout_s_(timeout_s), max_pending_(max_pending),
      ttl_s_(ttl_s) {
  if (::pipe2(wake_, O_CLOEXEC) != 0)
    throw std::runtime_error("bulk listener: pipe");
  thread_ = std::thread{[this] { loop(); }};
}

bulk_listener::~bulk_listener() {
  char x = 1;
  (void)!::write(wake_[1], &x, 1);
  thread_.join();
  ::close(wake_[0]);
  ::close(wake_[1]);
  ::close(fd_);
}

bulk_ticket bulk_listener::expect(on_connected then) {
  auto t = make_bulk_ticket();
  std::lock_guard<std::mutex> guard{mx_};
  const double now = now_s();
  for (auto i = tickets_.begin(); i != tickets_.end();)
    i = i->second.expires < now ? tickets_.erase(i) : std::next(i);
  tickets_[t] = waiting{std::move(then), now + ttl_s_};
  return t;
}

void bulk_listener::loop() {
  struct pending {
    int fd;
    bulk_ticket got;
    size_t have;
    double deadline;
  };
  std::vector<pending> waiting_fds;
  auto drop = [&](size_t i) {
    ++refused_; // counted before the peer can see the close
    ::close(waiting_fds[i].fd);
    waiting_fds.erase(waiting_fds.begin() + static_cast<std::ptrdiff_t>(i));
  };
  for (;;) {
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {fd_, POLLIN, 0}};
    double next = now_s() + 1;
    for (const auto& p : waiting_fds) {
      fds.push_back({p.fd, POLLIN, 0});
      next = std::min(next, p.deadline);
    }
    const int wait_ms = std::max(0, static_cast<int>((next - now_s()) * 1000));
    if (::poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR)
      break;
    if (fds[0].revents != 0)
      break;
    // Pending connections: read their tickets, oldest first.
    for (size_t k = fds.size(); k-- > 2;) {
      const size_t i = k - 2;
      auto& p = waiting_fds[i];
      if (fds[k].revents == 0) {
        if (now_s() > p.deadline)
          drop(i);
        continue;
      }
      auto got = ::recv(p.fd, p.got.data() + p.have, p.got.size() - p.have,
                        MSG_DONTWAIT);
      if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
          continue;
        drop(i);
        continue;
      }
      p.have += static_cast<size_t>(got);
      if (p.have < p.got.size())
        continue;
      on_connected then;
      {
        std::lock_guard<std::mutex> guard{mx_};
        auto t = tickets_.find(p.got);
        if (t != tickets_.end() && t->second.expires >= now_s())
          then = std::move(t->second.then);
        if (t != tickets_.end())
          tickets_.erase(t); // one connection per ticket
      }
      if (!then) {
        drop(i);
        continue;
      }
      const int fd = p.fd;
      waiting_fds.erase(waiting_fds.begin() + static_cast<std::ptrdiff_t>(i));
      then(fd);
    }
    if (fds[1].revents & POLLIN) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        if (waiting_fds.size() >= max_pending_) {
          ++refused_;
          ::close(c);
        } else {
          waiting_fds.push_back({c, {}, 0, now_s() + timeout_s_});
        }
      }
    }
  }
  for (auto& p : waiting_fds)
    ::close(p.fd);
}

} // namespace fl::net
