#pragma once

#include "runtime/net/auth_frames.hpp"
#include "runtime/net/gatekeeper.hpp"

#include <caf/io/basp/message_type.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/io/scribe.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fl::net {

/// Byte I/O of one connection for CAF's stream: plain TCP, or TLS through
/// OpenSSL when it holds a session (the handshake runs inside the first
/// reads and writes, as in CAF's OpenSSL module).
class link_io {
public:
  /// Takes ownership of `ssl` (may be null: plain TCP); failures are
  /// described into `*error_sink`.
  link_io(SSL* ssl, std::string* error_sink)
      : ssl_(ssl), error_sink_(error_sink) {}
  ~link_io();
  link_io(const link_io&) = delete;
  link_io& operator=(const link_io&) = delete;

  caf::io::network::rw_state read_some(size_t& result,
                                       caf::io::network::native_socket fd,
                                       void* buf, size_t len);
  caf::io::network::rw_state write_some(size_t& result,
                                        caf::io::network::native_socket fd,
                                        const void* buf, size_t len);
  bool must_read_more(caf::io::network::native_socket, size_t threshold);

private:
  caf::io::network::rw_state tls_result(int ret, size_t len, bool writing);
  SSL* ssl_;
  std::string* error_sink_;
};

/// One connection between nodes, as the actor runtime's BASP broker sees
/// it, with a gate in front (see auth_frames.hpp for the frames):
///   1. until the peer proves an identity, only the fixed-size frames are
///      read (at most 136 bytes at a time), and the broker's own bytes are
///      held back, so a stranger learns and costs nothing;
///   2. afterwards every BASP header is read here before the broker sees it:
///      a payload above gate_settings::max_frame_bytes, a routed message (a
///      peer speaking for another node), a handshake naming another node,
///      or a monitor/down message about another node closes the connection
///      before anything is allocated for it;
///   3. the connection is closed when it does not authenticate within the
///      timeout, and when its identity is revoked.
/// All of it runs on the I/O thread.
class guarded_scribe : public caf::io::scribe {
public:
  enum class side { accepting, dialing };

  guarded_scribe(caf::io::network::default_multiplexer& mpx,
                 caf::io::network::native_socket fd, SSL* ssl, side which,
                 std::shared_ptr<gatekeeper> gate, std::string addr);
  ~guarded_scribe() override;

  void configure_read(caf::io::receive_policy::config config) override;
  void ack_writes(bool enable) override;
  std::vector<char>& wr_buf() override;
  std::vector<char>& rd_buf() override;
  void graceful_shutdown() override;
  void flush() override;
  std::string addr() const override;
  uint16_t port() const override;
  void add_to_loop() override;
  void remove_from_loop() override;
  bool consume(caf::execution_unit* ctx, const void* buf,
               size_t num_bytes) override;

  /// Called by the gatekeeper's sweep on the I/O thread: closes the
  /// connection when it timed out or was revoked. False once it is closed
  /// (the sweep then forgets it).
  bool sweep(std::chrono::steady_clock::time_point now);

protected:
  void detach_from(caf::io::abstract_broker* ptr) override;

private:
  enum class stage { await_hello, await_proof, await_verdict, basp };

  void launch();
  bool on_hello(const char* data, size_t size);
  bool on_proof(const char* data, size_t size);
  bool on_verdict(const char* data, size_t size);
  bool on_basp_header(caf::execution_unit* ctx, const char* data, size_t size);
  bool on_basp_payload(caf::execution_unit* ctx, const char* data, size_t size);
  void enter_basp();
  /// Logs `why` (once per address), counts it and closes the connection.
  void refuse(const std::string& why);
  void close_now();
  /// Writes our own frame (not the broker's) and sends it.
  void send_now(const std::vector<char>& bytes);
  std::optional<cert_identity> peer_certificate() const;

  std::shared_ptr<gatekeeper> gate_;
  side side_;
  stage stage_;
  std::string addr_;
  bool launched_ = false;
  bool accounted_closed_ = false;
  std::chrono::steady_clock::time_point deadline_;
  caf::io::receive_policy::config wanted_; ///< the broker's read config
  std::vector<char> held_; ///< the broker's bytes until authenticated
  nonce my_nonce_{};
  /// The identity the peer proved; empty while it has not, and for an
  /// acceptor this node cannot verify (nothing is attributed to it).
  std::optional<peer_identity> peer_;
  caf::node_id peer_node_; ///< from its BASP handshake
  bool expect_header_ = true;
  caf::io::basp::message_type payload_of_{};
  SSL* ssl_;             ///< owned by stream_'s link_io; null = plain TCP
  std::string io_error_; ///< why TLS failed, from link_io
  caf::io::network::stream_impl<link_io> stream_;
};

/// Accepts connections for a published actor, each as a guarded_scribe;
/// beyond the gate's connection caps they are closed at once.
class guarded_doorman : public caf::io::network::doorman_impl {
public:
  guarded_doorman(caf::io::network::default_multiplexer& mpx,
                  caf::io::network::native_socket fd,
                  std::shared_ptr<gatekeeper> gate);
  bool new_connection() override;

private:
  std::shared_ptr<gatekeeper> gate_;
};

/// A dialing connection to host:port (blocking connect, like CAF's own).
caf::expected<caf::io::scribe_ptr>
dial_guarded(caf::io::network::default_multiplexer& mpx,
             const std::shared_ptr<gatekeeper>& gate, const std::string& host,
             uint16_t port);

} // namespace fl::net
