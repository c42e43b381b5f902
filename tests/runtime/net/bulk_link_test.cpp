// Bulk links over loopback: tickets, the transfer of model values from
// buffer to buffer, and hostile peers on the listener and on a link.

#include "runtime/core/errors.hpp"
#include "runtime/net/bulk_link.hpp"
#include "support/wire_helpers.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace fl;
using fl::test::code_of;
using fl::test::share;
using namespace fl::net;

namespace {

/// What one side's hooks saw, waited for from the test thread.
struct inbox {
  std::mutex mx;
  std::condition_variable cv;
  std::vector<std::pair<uint64_t, std::vector<float>>> arrived;
  std::vector<uint64_t> sent;
  bool closed = false;
  caf::error why;

  bulk_hooks hooks() {
    bulk_hooks h;
    h.allocate = [](uint64_t n, const std::atomic<bool>&) {
      return std::shared_ptr<float>(new float[n],
                                    std::default_delete<float[]>());
    };
    h.valid = [](span<const float> xs) {
      for (auto x : xs)
        if (!std::isfinite(x))
          return false;
      return true;
    };
    h.arrived = [this](uint64_t id, std::shared_ptr<float> v, uint64_t n) {
      std::lock_guard<std::mutex> g{mx};
      arrived.emplace_back(id, std::vector<float>(v.get(), v.get() + n));
      cv.notify_all();
    };
    h.sent = [this](uint64_t id) {
      std::lock_guard<std::mutex> g{mx};
      sent.push_back(id);
      cv.notify_all();
    };
    h.closed = [this](const caf::error& e) {
      std::lock_guard<std::mutex> g{mx};
      closed = true;
      why = e;
      cv.notify_all();
    };
    return h;
  }

  template <class Pred>
  bool wait(Pred p) {
    std::unique_lock<std::mutex> lock{mx};
    return cv.wait_for(lock, std::chrono::seconds(10), p);
  }
};

/// A listener, a ticket, and the socket its holder's connection became.
struct connected_pair {
  std::unique_ptr<bulk_listener> listener;
  std::mutex mx;
  std::condition_variable cv;
  int accepted = -1;
  int dialed = -1;

  connected_pair() {
    auto l = bulk_listener::listen("127.0.0.1");
    REQUIRE(l);
    listener = std::move(*l);
    auto ticket = listener->expect([this](int fd) {
      std::lock_guard<std::mutex> g{mx};
      accepted = fd;
      cv.notify_all();
    });
    auto fd = bulk_link::dial("127.0.0.1", listener->port(), ticket, 5);
    REQUIRE(fd);
    dialed = *fd;
    std::unique_lock<std::mutex> lock{mx};
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10),
                        [this] { return accepted >= 0; }));
  }
};

int raw_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  return fd;
}

/// True when the peer closed `fd` (read returns 0 or an error) in time.
bool closed_by_peer(int fd, double seconds) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - tv.tv_sec) * 1e6);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char c;
  auto n = ::recv(fd, &c, 1, 0);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

void send_raw(int fd, const void* p, size_t n) {
  REQUIRE(::send(fd, p, n, MSG_NOSIGNAL) == static_cast<ssize_t>(n));
}

} // namespace

TEST_CASE("a bulk link moves models both ways, value for value",
          "[bulk_link]") {
  connected_pair pair;
  inbox at_server, at_client;
  bulk_limits limits;
  limits.block_values = 1000; // many blocks per transfer
  bulk_link server{pair.accepted, at_server.hooks(), limits};
  bulk_link client{pair.dialed, at_client.hooks(), limits};
  auto up = std::make_shared<std::vector<float>>(12'345);
  for (size_t i = 0; i < up->size(); ++i)
    (*up)[i] = static_cast<float>(i) * 0.5f;
  auto down = std::make_shared<std::vector<float>>(777, -3.25f);
  client.send(7, span<const float>{*up}, up);
  client.send(8, span<const float>{up->data(), 10}, up);
  server.send(1, span<const float>{*down}, down);
  REQUIRE(at_server.wait([&] { return at_server.arrived.size() == 2; }));
  REQUIRE(at_client.wait([&] { return at_client.arrived.size() == 1; }));
  CHECK(at_server.arrived[0].first == 7);
  CHECK(at_server.arrived[0].second == *up);
  CHECK(at_server.arrived[1].first == 8);
  CHECK(at_server.arrived[1].second
        == std::vector<float>(up->begin(), up->begin() + 10));
  CHECK(at_client.arrived[0].second == *down);
  REQUIRE(at_client.wait([&] { return at_client.sent.size() == 2; }));
  CHECK(at_client.sent == std::vector<uint64_t>{7, 8});
  CHECK(!at_server.closed);
}

TEST_CASE("a bulk link closed between transfers ends in order", "[bulk_link]") {
  connected_pair pair;
  inbox at_server, at_client;
  bulk_link server{pair.accepted, at_server.hooks(), bulk_limits{}};
  { bulk_link client{pair.dialed, at_client.hooks(), bulk_limits{}}; }
  REQUIRE(at_server.wait([&] { return at_server.closed; }));
  CHECK(!at_server.why);
}

TEST_CASE("the bulk listener costs a stranger almost nothing", "[bulk_link]") {
  auto l = bulk_listener::listen("127.0.0.1", /*ticket_timeout_s=*/0.3,
                                 /*max_pending=*/2);
  REQUIRE(l);
  auto& listener = **l;
  bool called = false;
  auto ticket = listener.expect([&](int fd) {
    called = true;
    ::close(fd);
  });
  SECTION("a wrong ticket is refused, and the right one still works") {
    int fd = raw_connect(listener.port());
    bulk_ticket wrong = ticket;
    wrong[0] ^= 1;
    send_raw(fd, wrong.data(), wrong.size());
    CHECK(closed_by_peer(fd, 5));
    ::close(fd);
    CHECK(listener.refused() == 1);
    auto good = bulk_link::dial("127.0.0.1", listener.port(), ticket, 5);
    REQUIRE(good);
    for (int i = 0; i < 100 && !called; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(called);
    ::close(*good);
  }
  SECTION("a ticket is good once") {
    auto first = bulk_link::dial("127.0.0.1", listener.port(), ticket, 5);
    REQUIRE(first);
    auto again = bulk_link::dial("127.0.0.1", listener.port(), ticket, 5);
    REQUIRE(again);
    CHECK(closed_by_peer(*again, 5));
    ::close(*first);
    ::close(*again);
  }
  SECTION("a silent connection is closed at the timeout") {
    int fd = raw_connect(listener.port());
    send_raw(fd, ticket.data(), 5); // part of a ticket, then nothing
    CHECK(closed_by_peer(fd, 5));
    ::close(fd);
    CHECK(!called);
  }
}

TEST_CASE("beyond max_pending, strangers are closed at once", "[bulk_link]") {
  // A long ticket timeout: a connection closed in time was closed at once.
  auto l = bulk_listener::listen("127.0.0.1", /*ticket_timeout_s=*/60,
                                 /*max_pending=*/2);
  REQUIRE(l);
  const auto port = (*l)->port();
  // The listener accepts in connection order: a and b wait, c is one too
  // many.
  int a = raw_connect(port);
  int b = raw_connect(port);
  int c = raw_connect(port);
  CHECK(closed_by_peer(c, 10));
  CHECK((*l)->refused() == 1);
  CHECK(!closed_by_peer(a, 0.1));
  CHECK(!closed_by_peer(b, 0.1));
  ::close(a);
  ::close(b);
  ::close(c);
}

TEST_CASE("a bulk link refuses what a hostile peer writes on it",
          "[bulk_link]") {
  connected_pair pair;
  inbox at_server;
  bulk_limits limits;
  limits.max_values = 1000;
  limits.block_values = 100;
  bulk_link server{pair.accepted, at_server.hooks(), limits};
  const int peer = pair.dialed;
  auto header
      = [](uint64_t id, uint64_t numel, uint64_t offset, uint64_t count) {
          std::array<uint64_t, 5> h{id, numel, offset, count, 0};
          return h;
        };
  std::vector<float> ok(100, 1.0f);
  errc expected = errc::none;
  SECTION("a model above the limit") {
    auto h = header(1, 1001, 0, 100);
    send_raw(peer, h.data(), sizeof(h));
    expected = errc::too_large;
  }
  SECTION("a block bigger than a block may be") {
    auto h = header(1, 1000, 0, 101);
    send_raw(peer, h.data(), sizeof(h));
    expected = errc::size_mismatch;
  }
  SECTION("a transfer that does not start at element 0") {
    auto h = header(1, 1000, 100, 100);
    send_raw(peer, h.data(), sizeof(h));
    expected = errc::chunk_missing;
  }
  SECTION("a block that skips ahead") {
    auto h = header(1, 1000, 0, 100);
    send_raw(peer, h.data(), sizeof(h));
    send_raw(peer, ok.data(), ok.size() * 4);
    auto h2 = header(1, 1000, 300, 100);
    send_raw(peer, h2.data(), sizeof(h2));
    expected = errc::size_mismatch;
  }
  SECTION("NaN values") {
    auto h = header(1, 100, 0, 100);
    send_raw(peer, h.data(), sizeof(h));
    auto bad = ok;
    bad[42] = std::numeric_limits<float>::quiet_NaN();
    send_raw(peer, bad.data(), bad.size() * 4);
    expected = errc::non_finite_value;
  }
  SECTION("a transfer cut off half-way") {
    auto h = header(1, 1000, 0, 100);
    send_raw(peer, h.data(), sizeof(h));
    send_raw(peer, ok.data(), 200);
    ::shutdown(peer, SHUT_WR);
    expected = errc::chunk_missing;
  }
  REQUIRE(at_server.wait([&] { return at_server.closed; }));
  REQUIRE(at_server.why);
  CHECK(code_of(at_server.why) == expected);
  CHECK(at_server.arrived.empty());
  CHECK(closed_by_peer(peer, 5));
  ::close(peer);
}
