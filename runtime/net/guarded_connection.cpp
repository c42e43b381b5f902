#include "runtime/net/guarded_connection.hpp"

#include "runtime/core/errors.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/io/abstract_broker.hpp>
#include <caf/io/basp/header.hpp>
#include <caf/io/network/interfaces.hpp>
#include <caf/io/network/native_socket.hpp>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

namespace fl::net {

namespace basp = caf::io::basp;
using caf::io::receive_policy;
using caf::io::network::rw_state;

// -- link_io ------------------------------------------------------------------

namespace {

/// OpenSSL writes with plain write(2): a peer that closed its end would kill
/// the process with SIGPIPE. Blocks the signal on this thread for the
/// duration of one OpenSSL call and drops one raised meanwhile (as CAF's
/// OpenSSL module does); the call then reports the broken connection.
class sigpipe_guard {
public:
  sigpipe_guard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &saved_);
  }
  ~sigpipe_guard() {
    timespec zero{};
    while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      // drop the pending SIGPIPE
    }
    pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

private:
  sigset_t pipe_, saved_;
};

} // namespace

link_io::~link_io() {
  if (ssl_ != nullptr)
    SSL_free(ssl_);
}

rw_state link_io::tls_result(int ret, size_t len, bool writing) {
  switch (SSL_get_error(ssl_, ret)) {
  case SSL_ERROR_WANT_READ:
    // A zero-length write only drives the handshake: nothing to send.
    return writing && len == 0 ? rw_state::indeterminate : rw_state::success;
  case SSL_ERROR_WANT_WRITE:
    return rw_state::success;
  case SSL_ERROR_ZERO_RETURN:
  case SSL_ERROR_SYSCALL:
    return rw_state::failure;
  default: {
    auto why = openssl_errors();
    if (error_sink_ != nullptr && !why.empty())
      *error_sink_ = why;
    return rw_state::failure;
  }
  }
}

rw_state link_io::read_some(size_t& result, caf::io::network::native_socket fd,
                            void* buf, size_t len) {
  if (ssl_ == nullptr)
    return caf::policy::tcp::read_some(result, fd, buf, len);
  result = 0;
  sigpipe_guard guard;
  auto ret = SSL_read(ssl_, buf, static_cast<int>(len));
  if (ret > 0) {
    result = static_cast<size_t>(ret);
    return rw_state::success;
  }
  return tls_result(ret, len, false);
}

rw_state link_io::write_some(size_t& result, caf::io::network::native_socket fd,
                             const void* buf, size_t len) {
  if (ssl_ == nullptr)
    return caf::policy::tcp::write_some(result, fd, buf, len);
  result = 0;
  sigpipe_guard guard;
  if (len == 0) {
    if (SSL_is_init_finished(ssl_))
      return rw_state::indeterminate;
    auto ret = SSL_do_handshake(ssl_);
    return ret == 1 ? rw_state::indeterminate : tls_result(ret, 0, true);
  }
  auto ret = SSL_write(ssl_, buf, static_cast<int>(len));
  if (ret > 0) {
    result = static_cast<size_t>(ret);
    return rw_state::success;
  }
  return tls_result(ret, len, true);
}

bool link_io::must_read_more(caf::io::network::native_socket,
                             size_t threshold) {
  return ssl_ != nullptr && static_cast<size_t>(SSL_pending(ssl_)) >= threshold;
}

// -- guarded_scribe -----------------------------------------------------------

guarded_scribe::guarded_scribe(caf::io::network::default_multiplexer& mpx,
                               caf::io::network::native_socket fd, SSL* ssl,
                               side which, std::shared_ptr<gatekeeper> gate,
                               std::string addr)
    : caf::io::scribe(caf::io::network::conn_hdl_from_socket(fd)),
      gate_(std::move(gate)), side_(which),
      stage_(which == side::accepting ? stage::await_proof
                                      : stage::await_hello),
      addr_(std::move(addr)),
      deadline_(std::chrono::steady_clock::now()
                + std::chrono::milliseconds(static_cast<int64_t>(
                    gate_->settings().auth_timeout_s * 1000))),
      wanted_(receive_policy::exactly(basp::header_size)), ssl_(ssl),
      stream_(mpx, fd, ssl, &io_error_) {}

guarded_scribe::~guarded_scribe() = default;

void guarded_scribe::launch() {
  launched_ = true;
  stream_.configure_read(receive_policy::exactly(
      side_ == side::accepting ? proof_size : hello_size));
  stream_.start(this);
  if (side_ == side::accepting) {
    my_nonce_ = random_nonce();
    send_now(encode_hello(my_nonce_));
  }
  // Starts a TLS client's handshake (a no-op otherwise).
  stream_.force_empty_write(this);
}

void guarded_scribe::configure_read(receive_policy::config config) {
  if (stage_ != stage::basp) {
    wanted_ = config;
    if (!launched_)
      launch();
    return;
  }
  // Payload sizes were checked with their header; this is the backstop.
  if (config.second > gate_->settings().max_frame_bytes) {
    refuse("asked to read " + std::to_string(config.second) + " bytes");
    return;
  }
  stream_.configure_read(config);
}

void guarded_scribe::ack_writes(bool enable) { stream_.ack_writes(enable); }

std::vector<char>& guarded_scribe::wr_buf() {
  return stage_ == stage::basp ? stream_.wr_buf() : held_;
}

std::vector<char>& guarded_scribe::rd_buf() { return stream_.rd_buf(); }

void guarded_scribe::graceful_shutdown() {
  stream_.graceful_shutdown();
  detach(&stream_.backend(), false);
}

void guarded_scribe::flush() {
  if (stage_ == stage::basp)
    stream_.flush(this);
}

std::string guarded_scribe::addr() const {
  auto x = caf::io::network::remote_addr_of_fd(stream_.fd());
  return x ? *x : std::string{};
}

uint16_t guarded_scribe::port() const {
  auto x = caf::io::network::remote_port_of_fd(stream_.fd());
  return x ? *x : uint16_t{0};
}

void guarded_scribe::add_to_loop() { stream_.activate(this); }

void guarded_scribe::remove_from_loop() { stream_.passivate(); }

void guarded_scribe::detach_from(caf::io::abstract_broker* ptr) {
  caf::io::scribe::detach_from(ptr);
  if (accounted_closed_)
    return;
  accounted_closed_ = true;
  if (stage_ != stage::basp && !io_error_.empty())
    gate_->refuse(addr_, "TLS failed before authentication: " + io_error_);
  gate_->on_closed(stage_ != stage::basp);
  if (peer_node_ != caf::node_id{} && peer_)
    gate_->unbind(peer_node_);
}

void guarded_scribe::send_now(const std::vector<char>& bytes) {
  auto& out = stream_.wr_buf();
  out.insert(out.end(), bytes.begin(), bytes.end());
  stream_.flush(this);
}

void guarded_scribe::close_now() {
  if (detached())
    return;
  // The last frame written (a verdict) still goes out before the FIN.
  stream_.graceful_shutdown();
  detach(&stream_.backend(), true);
}

void guarded_scribe::refuse(const std::string& why) {
  gate_->count_protocol_refusal();
  gate_->refuse(addr_, why);
  close_now();
}

std::optional<cert_identity> guarded_scribe::peer_certificate() const {
  if (ssl_ == nullptr)
    return std::nullopt;
  auto* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr || SSL_get_verify_result(ssl_) != X509_V_OK)
    return std::nullopt;
  auto id = identity_of(cert);
  if (!id)
    return std::nullopt;
  return std::move(*id);
}

bool guarded_scribe::sweep(std::chrono::steady_clock::time_point now) {
  if (detached())
    return false;
  if (stage_ != stage::basp && now >= deadline_) {
    gate_->count_timeout();
    const auto secs
        = std::to_string(static_cast<int>(gate_->settings().auth_timeout_s));
    gate_->refuse(addr_,
                  side_ == side::accepting
                      ? "did not authenticate within " + secs + " s"
                      : "no answer to authentication within " + secs
                            + " s (does one side use TLS and the other not?)");
    close_now();
    return false;
  }
  if (stage_ == stage::basp && peer_ && gate_->revoked(peer_->name)) {
    gate_->count_revoked_close();
    gate_->refuse(addr_,
                  "identity '" + peer_->name + "' revoked: connection closed");
    close_now();
    return false;
  }
  return true;
}

bool guarded_scribe::on_hello(const char* data, size_t size) {
  auto theirs = decode_hello(data, size);
  if (!theirs) {
    refuse("does not speak the fedactor protocol (no hello)");
    return false;
  }
  my_nonce_ = random_nonce();
  const auto& s = gate_->settings();
  send_now(encode_proof(s.identity, s.own_token, *theirs, my_nonce_));
  stage_ = stage::await_verdict;
  stream_.configure_read(receive_policy::exactly(verdict_size));
  return true;
}

bool guarded_scribe::on_proof(const char* data, size_t size) {
  auto p = decode_proof(data, size);
  if (!p) {
    refuse("sent garbage before authenticating");
    return false;
  }
  auto cert = peer_certificate();
  auto j = gate_->judge(signer::dialer, *p, my_nonce_, cert ? &*cert : nullptr);
  const auto& s = gate_->settings();
  send_now(encode_verdict(j.code, s.identity, s.own_token, p->nonce));
  if (j.code != verdict_code::admitted) {
    gate_->refuse(addr_, j.why);
    close_now();
    return false;
  }
  peer_ = std::move(j.who);
  enter_basp();
  return true;
}

bool guarded_scribe::on_verdict(const char* data, size_t size) {
  auto v = decode_verdict(data, size);
  if (!v) {
    refuse("does not speak the fedactor protocol (no verdict)");
    return false;
  }
  gate_->note_verdict(addr_, v->code);
  if (v->code != verdict_code::admitted) {
    close_now();
    return false;
  }
  auto cert = peer_certificate();
  auto j
      = gate_->judge(signer::acceptor, *v, my_nonce_, cert ? &*cert : nullptr);
  if (j.code == verdict_code::admitted) {
    peer_ = std::move(j.who);
  } else if (ssl_ != nullptr || j.code == verdict_code::revoked) {
    // With TLS the other side's certificate must name who it claims to be.
    gate_->refuse(addr_, j.why);
    close_now();
    return false;
  }
  // Otherwise it used a token this node does not hold (a client of a
  // server with per-node tokens): talk to it, but attribute nothing to it.
  enter_basp();
  return true;
}

void guarded_scribe::enter_basp() {
  stage_ = stage::basp;
  gate_->on_authenticated();
  send_now(held_);
  held_.clear();
  held_.shrink_to_fit();
  expect_header_ = true;
  stream_.configure_read(wanted_);
}

bool guarded_scribe::on_basp_header(caf::execution_unit* ctx, const char* data,
                                    size_t size) {
  basp::header hdr;
  caf::binary_deserializer bd{ctx, data, size};
  if (size != basp::header_size || bd(hdr) || !basp::valid(hdr)) {
    refuse("sent a malformed runtime header");
    return false;
  }
  using mt = basp::message_type;
  const bool handshake_seen = peer_node_ != caf::node_id{};
  const auto own_handshake
      = side_ == side::accepting ? mt::client_handshake : mt::server_handshake;
  bool allowed = false;
  switch (hdr.operation) {
  case mt::client_handshake:
  case mt::server_handshake:
    // The dialer repeats its handshake once to select this connection.
    allowed = hdr.operation == own_handshake
              || (side_ == side::accepting && handshake_seen
                  && hdr.operation == mt::client_handshake);
    break;
  case mt::direct_message:
  case mt::monitor_message:
  case mt::down_message:
  case mt::heartbeat:
    allowed = handshake_seen;
    break;
  case mt::routed_message:
    // Would let a peer speak for any other node: never routed here.
    allowed = false;
    break;
  }
  if (!allowed) {
    refuse("sent a forbidden runtime message ("
           + caf::io::basp::to_string(hdr.operation) + ")");
    return false;
  }
  if (hdr.payload_len > gate_->settings().max_frame_bytes) {
    refuse("announced a " + std::to_string(hdr.payload_len)
           + "-byte message (the limit is "
           + std::to_string(gate_->settings().max_frame_bytes) + ")");
    return false;
  }
  if (hdr.payload_len > 0) {
    expect_header_ = false;
    payload_of_ = hdr.operation;
  } else if (hdr.operation != mt::heartbeat) {
    refuse("sent a runtime message without its payload");
    return false;
  }
  return true;
}

bool guarded_scribe::on_basp_payload(caf::execution_unit* ctx, const char* data,
                                     size_t size) {
  expect_header_ = true;
  using mt = basp::message_type;
  if (payload_of_ == mt::direct_message || payload_of_ == mt::heartbeat)
    return true;
  // Handshakes, monitor and down messages all begin with the node they
  // speak for: it must be the node at the other end of this connection.
  caf::node_id node;
  caf::binary_deserializer bd{ctx, data, size};
  if (bd(node) || node == caf::node_id{}) {
    refuse("sent a malformed runtime handshake");
    return false;
  }
  if (payload_of_ == mt::client_handshake
      || payload_of_ == mt::server_handshake) {
    if (peer_node_ == caf::node_id{}) {
      peer_node_ = node;
      std::string why;
      if (peer_ && !gate_->bind(node, *peer_, why)) {
        peer_.reset(); // not bound: nothing to unbind later
        refuse(why);
        return false;
      }
      return true;
    }
  }
  if (node != peer_node_) {
    refuse("spoke for another runtime node");
    return false;
  }
  return true;
}

bool guarded_scribe::consume(caf::execution_unit* ctx, const void* buf,
                             size_t num_bytes) {
  if (detached())
    return false;
  auto data = static_cast<const char*>(buf);
  switch (stage_) {
  case stage::await_hello:
    return on_hello(data, num_bytes);
  case stage::await_proof:
    return on_proof(data, num_bytes);
  case stage::await_verdict:
    return on_verdict(data, num_bytes);
  case stage::basp:
    break;
  }
  auto ok = expect_header_ ? on_basp_header(ctx, data, num_bytes)
                           : on_basp_payload(ctx, data, num_bytes);
  if (!ok)
    return false;
  return caf::io::scribe::consume(ctx, buf, num_bytes);
}

// -- guarded_doorman ----------------------------------------------------------

guarded_doorman::guarded_doorman(caf::io::network::default_multiplexer& mpx,
                                 caf::io::network::native_socket fd,
                                 std::shared_ptr<gatekeeper> gate)
    : caf::io::network::doorman_impl(mpx, fd), gate_(std::move(gate)) {}

bool guarded_doorman::new_connection() {
  if (detached())
    return false;
  auto& mpx = acceptor_.backend();
  auto fd = acceptor_.accepted_socket();
  auto peer = caf::io::network::remote_addr_of_fd(fd);
  auto addr = peer ? *peer : std::string{"?"};
  if (!gate_->try_open(addr)) {
    caf::io::network::close_socket(fd);
    return true; // keep accepting
  }
  SSL* ssl = nullptr;
  if (const auto& tls = gate_->settings().tls) {
    ssl = tls->new_session();
    if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
      gate_->refuse(addr, "cannot create a TLS session");
      gate_->on_closed(true);
      if (ssl != nullptr)
        SSL_free(ssl);
      caf::io::network::close_socket(fd);
      return true;
    }
    SSL_set_accept_state(ssl);
  }
  auto conn = caf::make_counted<guarded_scribe>(
      mpx, fd, ssl, guarded_scribe::side::accepting, gate_, addr);
  gate_->watch(conn);
  auto hdl = conn->hdl();
  parent()->add_scribe(std::move(conn));
  return doorman::new_connection(&mpx, hdl);
}

caf::expected<caf::io::scribe_ptr>
dial_guarded(caf::io::network::default_multiplexer& mpx,
             const std::shared_ptr<gatekeeper>& gate, const std::string& host,
             uint16_t port) {
  auto fd = caf::io::network::new_tcp_connection(host, port);
  if (!fd)
    return std::move(fd.error());
  auto addr = host + ":" + std::to_string(port);
  if (!gate->try_open(addr)) {
    caf::io::network::close_socket(*fd);
    return make_fl_error(errc::io_error,
                         "too many connections at once to dial " + addr);
  }
  caf::io::network::nonblocking(*fd, true);
  SSL* ssl = nullptr;
  if (const auto& tls = gate->settings().tls) {
    ssl = tls->new_session();
    if (ssl == nullptr || SSL_set_fd(ssl, *fd) != 1) {
      gate->on_closed(true);
      if (ssl != nullptr)
        SSL_free(ssl);
      caf::io::network::close_socket(*fd);
      return make_fl_error(errc::io_error, "cannot create a TLS session");
    }
    SSL_set_connect_state(ssl);
  }
  auto conn = caf::make_counted<guarded_scribe>(
      mpx, *fd, ssl, guarded_scribe::side::dialing, gate, addr);
  gate->watch(conn);
  return caf::io::scribe_ptr{std::move(conn)};
}

} // namespace fl::net
