// A hostile peer for the command-line security tests, built from the
// project's own wire code: it attacks a running node's port the way a
// stranger (or a node with stolen or wrong credentials) would and reports
// what the node did. Every attack exits 0 when the node refused it as it
// should, 1 when it did not, 2 on a usage error.
//
//   hostile_peer header  HOST PORT BYTES [--token T --identity I] [--tls KIT]
//       a runtime (BASP) header announcing BYTES of payload: before
//       authenticating, or after it when credentials are given
//   hostile_peer garbage HOST PORT         136 random bytes instead of a proof
//   hostile_peer replay  HOST PORT --token T --identity I
//       a valid proof, then the same bytes on a second connection
//   hostile_peer idle    HOST PORT COUNT   COUNT connections that say nothing
//   hostile_peer tls     HOST PORT KIT     a TLS handshake with KIT's
//       certificate (another CA's, expired, ...): refused?
//   hostile_peer expired-kit DIR NAME      issue a kit signed by DIR's CA that
//       expired yesterday (for the test above)
//   hostile_peer before-join HOST PORT [--token T --identity I] [--tls KIT]
//       an authenticated node (a real actor runtime behind the gate) that
//       sends an update for client-0 without joining, then a 4 MiB chunked
//       transfer before any join: both must come back refused

#include "actors/interfaces.hpp"
#include "messages/codec.hpp"
#include "messages/system_config.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/net/auth_frames.hpp"
#include "runtime/net/certificates.hpp"
#include "runtime/net/secure_transport.hpp"
#include "runtime/net/tls_context.hpp"

#include <arpa/inet.h>
#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <random>
#include <set>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace fl;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::string token, identity = "mallory", tls;
};

/// One connection, plain or TLS (blocking).
struct link {
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;

  ~link() {
    if (ssl)
      SSL_free(ssl);
    if (ctx)
      SSL_CTX_free(ctx);
    if (fd >= 0)
      ::close(fd);
  }

  bool send_all(const void* data, size_t n) {
    auto p = static_cast<const char*>(data);
    while (n > 0) {
      auto k = ssl ? SSL_write(ssl, p, static_cast<int>(n))
                   : ::send(fd, p, n, MSG_NOSIGNAL);
      if (k <= 0)
        return false;
      p += k;
      n -= static_cast<size_t>(k);
    }
    return true;
  }

  /// Reads exactly n bytes within `seconds`; false on close or timeout.
  bool recv_all(void* data, size_t n, double seconds) {
    auto p = static_cast<char*>(data);
    auto until = clock_type::now()
                 + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
    while (n > 0) {
      if (!(ssl && SSL_pending(ssl) > 0)) {
        pollfd pfd{fd, POLLIN, 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        until - clock_type::now())
                        .count();
        if (left <= 0 || ::poll(&pfd, 1, static_cast<int>(left)) <= 0)
          return false;
      }
      auto k
          = ssl ? SSL_read(ssl, p, static_cast<int>(n)) : ::recv(fd, p, n, 0);
      if (k <= 0)
        return false;
      p += k;
      n -= static_cast<size_t>(k);
    }
    return true;
  }

  /// Seconds until the node closes the connection (reading and discarding
  /// whatever it sends), or a negative value if it is still open then.
  double seconds_until_closed(double limit) {
    auto start = clock_type::now();
    char buf[4096];
    for (;;) {
      auto left
          = limit
            - std::chrono::duration<double>(clock_type::now() - start).count();
      if (left <= 0)
        return -1;
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left * 1000)) <= 0)
        continue;
      auto k = ssl ? SSL_read(ssl, buf, sizeof(buf))
                   : ::recv(fd, buf, sizeof(buf), 0);
      if (k <= 0)
        return std::chrono::duration<double>(clock_type::now() - start).count();
    }
  }
};

bool open_link(link& l, const std::string& host, int port,
               const std::string& kit) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res)
      != 0)
    return false;
  l.fd = ::socket(res->ai_family, SOCK_STREAM, 0);
  auto ok = ::connect(l.fd, res->ai_addr, res->ai_addrlen) == 0;
  ::freeaddrinfo(res);
  if (!ok || kit.empty())
    return ok;
  auto f = net::tls_files::in_folder(kit);
  l.ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_use_certificate_chain_file(l.ctx, f.cert.c_str());
  SSL_CTX_use_PrivateKey_file(l.ctx, f.key.c_str(), SSL_FILETYPE_PEM);
  // The attacker does not care who the server is.
  SSL_CTX_set_verify(l.ctx, SSL_VERIFY_NONE, nullptr);
  l.ssl = SSL_new(l.ctx);
  SSL_set_fd(l.ssl, l.fd);
  return SSL_connect(l.ssl) == 1;
}

/// Reads the hello and answers with a proof; returns the verdict (or
/// nothing when the node hung up).
std::optional<net::proof> authenticate(link& l, const options& o) {
  char hello[net::hello_size];
  if (!l.recv_all(hello, sizeof(hello), 5))
    return std::nullopt;
  auto n = net::decode_hello(hello, sizeof(hello));
  if (!n)
    return std::nullopt;
  auto proof = net::encode_proof(o.identity, o.token, *n, net::random_nonce());
  if (!l.send_all(proof.data(), proof.size()))
    return std::nullopt;
  char verdict[net::verdict_size];
  if (!l.recv_all(verdict, sizeof(verdict), 5))
    return std::nullopt;
  return net::decode_verdict(verdict, sizeof(verdict));
}

/// A 32-byte BASP header (network byte order): a client handshake that
/// announces `payload` bytes.
std::vector<char> basp_header(uint32_t payload) {
  std::vector<char> h(32, 0);
  h[0] = 1; // client_handshake
  uint32_t len = htonl(payload);
  std::memcpy(h.data() + 4, &len, 4);
  return h;
}

int report(bool refused, const std::string& what) {
  std::printf("%s: %s\n", refused ? "REFUSED" : "NOT REFUSED", what.c_str());
  return refused ? 0 : 1;
}

int attack_header(const std::string& host, int port, uint64_t bytes,
                  const options& o) {
  link l;
  if (!open_link(l, host, port, o.tls))
    return report(true, "the connection (or TLS) was refused outright");
  const bool authenticated = !o.token.empty() || !o.tls.empty();
  if (authenticated) {
    auto v = authenticate(l, o);
    if (!v || v->code != net::verdict_code::admitted) {
      std::printf("could not authenticate first\n");
      return 2;
    }
  }
  auto h = basp_header(
      static_cast<uint32_t>(std::min<uint64_t>(bytes, 0xffffffffu)));
  l.send_all(h.data(), h.size());
  auto closed = l.seconds_until_closed(30);
  return report(closed >= 0, "a header announcing " + std::to_string(bytes)
                                 + " bytes ("
                                 + (authenticated ? "after" : "before")
                                 + " authenticating): closed after "
                                 + std::to_string(closed) + " s");
}

int attack_garbage(const std::string& host, int port) {
  link l;
  if (!open_link(l, host, port, ""))
    return report(true, "connection refused");
  std::vector<char> junk(net::proof_size);
  std::mt19937 gen{7};
  for (auto& c : junk)
    c = static_cast<char>(gen());
  char hello[net::hello_size];
  l.recv_all(hello, sizeof(hello), 5);
  l.send_all(junk.data(), junk.size());
  auto closed = l.seconds_until_closed(10);
  return report(closed >= 0 && closed < 5,
                "garbage instead of a proof: closed after "
                    + std::to_string(closed) + " s");
}

int attack_replay(const std::string& host, int port, const options& o) {
  std::vector<char> recorded;
  {
    link l;
    if (!open_link(l, host, port, o.tls))
      return 2;
    char hello[net::hello_size];
    if (!l.recv_all(hello, sizeof(hello), 5))
      return 2;
    auto n = net::decode_hello(hello, sizeof(hello));
    recorded = net::encode_proof(o.identity, o.token, *n, net::random_nonce());
    l.send_all(recorded.data(), recorded.size());
    char verdict[net::verdict_size];
    auto v = l.recv_all(verdict, sizeof(verdict), 5)
                 ? net::decode_verdict(verdict, sizeof(verdict))
                 : std::nullopt;
    if (!v || v->code != net::verdict_code::admitted) {
      std::printf("the genuine proof was not admitted\n");
      return 2;
    }
  }
  link l;
  if (!open_link(l, host, port, o.tls))
    return 2;
  char hello[net::hello_size];
  l.recv_all(hello, sizeof(hello), 5);
  l.send_all(recorded.data(), recorded.size());
  char verdict[net::verdict_size];
  auto v = l.recv_all(verdict, sizeof(verdict), 5)
               ? net::decode_verdict(verdict, sizeof(verdict))
               : std::nullopt;
  auto closed = l.seconds_until_closed(5);
  return report((!v || v->code != net::verdict_code::admitted) && closed >= 0,
                "a replayed proof");
}

int attack_idle(const std::string& host, int port, int count) {
  std::vector<std::unique_ptr<link>> links;
  for (int i = 0; i < count; ++i) {
    auto l = std::make_unique<link>();
    if (open_link(*l, host, port, ""))
      links.push_back(std::move(l));
  }
  // Those over the cap are closed at once; the rest when the
  // authentication timeout passes.
  int at_once = 0;
  for (auto& l : links)
    if (l->seconds_until_closed(0.5) >= 0) {
      ++at_once;
      ::close(l->fd);
      l->fd = -1;
    }
  std::printf("%d of %zu idle connections closed at once (over the cap)\n",
              at_once, links.size());
  int later = 0;
  auto start = clock_type::now();
  for (auto& l : links) {
    if (l->fd < 0)
      continue;
    auto left
        = 40 - std::chrono::duration<double>(clock_type::now() - start).count();
    if (l->seconds_until_closed(std::max(left, 0.1)) >= 0)
      ++later;
  }
  std::printf("%d closed by the authentication timeout\n", later);
  return report(at_once + later == static_cast<int>(links.size()),
                std::to_string(links.size()) + " idle connections");
}

int attack_tls(const std::string& host, int port, const std::string& kit) {
  link l;
  if (!open_link(l, host, port, kit))
    return report(true, "TLS handshake with " + kit + " failed");
  // TLS 1.3 servers report a rejected client certificate after the
  // handshake: the first read fails.
  options o;
  o.identity = "intruder";
  auto v = authenticate(l, o);
  return report(!v || v->code != net::verdict_code::admitted,
                "TLS with " + kit);
}

/// The error code of the reply to `frames`, 0 when none came in 10 s.
uint16_t send_and_await_error(caf::scoped_actor& self, const caf::actor& to,
                              const std::vector<byte_buffer>& frames) {
  for (const auto& f : frames)
    self->send(to, frame_atom::value, wire_frame{f});
  uint16_t code = 0;
  self->receive(
      [&](frame_atom, wire_frame& w) {
        auto bytes = std::make_shared<const byte_buffer>(std::move(w.bytes));
        if (auto env = decode(bytes))
          if (auto* e = std::get_if<error_msg>(&env->body))
            code = e->code;
      },
      caf::after(std::chrono::seconds(10)) >> [] {});
  return code;
}

int attack_before_join(const std::string& host, int port, const options& o) {
  node_config cfg;
  system_config sys_cfg{cfg};
  caf::actor_system sys{sys_cfg};
  auto log = make_loggers("warn", "");
  net::gate_settings g;
  g.identity = o.identity;
  g.own_token = o.token;
  g.shared_token = o.token;
  if (!o.tls.empty()) {
    auto tls = net::tls_context::load(net::tls_files::in_folder(o.tls));
    if (!tls)
      return 2;
    g.tls = *tls;
  }
  auto t = net::start_secure_transport(sys, g, *log);
  caf::scoped_actor self{sys};
  caf::actor connector;
  self->request(t.dialer, std::chrono::seconds(10), caf::connect_atom::value,
                host, static_cast<uint16_t>(port))
      .receive(
          [&](const caf::node_id&, caf::strong_actor_ptr& ptr,
              const std::set<std::string>&) {
            connector = caf::actor_cast<caf::actor>(ptr);
          },
          [&](caf::error&) {});
  if (!connector) {
    std::printf("could not connect\n");
    t.stop();
    return 2;
  }
  std::vector<float> values(size_t{1} << 20, 0.25f);
  update_msg up;
  up.node_id = "client-0";
  up.num_samples = 600;
  up.model.kind = tensor_kind::params;
  up.model.layout.add("w", {static_cast<int64_t>(values.size())});
  up.model.values = span<const float>{values};
  // 1: a small update (one value) under client-0's id, never joined.
  update_msg small = up;
  small.model.layout = model_layout{};
  small.model.layout.add("w", {1});
  small.model.values = span<const float>{values.data(), 1};
  auto first
      = send_and_await_error(self, connector, {encode(envelope{"", small})});
  // 2: a 4 MiB update in 256 KiB chunks, before any join.
  auto second = send_and_await_error(
      self, connector, encode_frames(envelope{"", up}, size_t{256} << 10, 9));
  t.stop();
  int rc = report(first == static_cast<uint16_t>(errc::unauthorized),
                  "an update from a node that never joined (error "
                      + std::to_string(first) + ")");
  rc |= report(second == static_cast<uint16_t>(errc::too_large),
               "a chunked transfer before any join (error "
                   + std::to_string(second) + ")");
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  options o;
  std::vector<std::string> pos;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--token" && i + 1 < args.size())
      o.token = args[++i];
    else if (args[i] == "--identity" && i + 1 < args.size())
      o.identity = args[++i];
    else if (args[i] == "--tls" && i + 1 < args.size())
      o.tls = args[++i];
    else
      pos.push_back(args[i]);
  }
  if (pos.size() == 3 && pos[0] == "expired-kit") {
    auto err = net::make_startup_kits(pos[1], {{pos[2], {}}}, 1, -3);
    if (err)
      std::fprintf(stderr, "%s\n", describe(err).c_str());
    return err ? 1 : 0;
  }
  if (pos.size() < 3) {
    std::fprintf(stderr, "usage: see the comment at the top of "
                         "tests/support/hostile_peer.cpp\n");
    return 2;
  }
  const auto& what = pos[0];
  const auto& host = pos[1];
  const int port = std::stoi(pos[2]);
  if (what == "header" && pos.size() == 4)
    return attack_header(host, port, std::stoull(pos[3]), o);
  if (what == "garbage")
    return attack_garbage(host, port);
  if (what == "replay")
    return attack_replay(host, port, o);
  if (what == "idle" && pos.size() == 4)
    return attack_idle(host, port, std::stoi(pos[3]));
  if (what == "tls" && pos.size() == 4)
    return attack_tls(host, port, pos[3]);
  if (what == "before-join")
    return attack_before_join(host, port, o);
  std::fprintf(stderr, "unknown attack '%s'\n", what.c_str());
  return 2;
}
