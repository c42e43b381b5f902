#pragma once

#include "runtime/core/logging.hpp"
#include "runtime/net/access_list.hpp"
#include "runtime/net/auth_frames.hpp"
#include "runtime/net/id_grants.hpp"
#include "runtime/net/tls_context.hpp"

#include <atomic>
#include <caf/intrusive_ptr.hpp>
#include <caf/node_id.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fl::net {

class guarded_scribe;

/// How a node guards its connections (see gatekeeper).
struct gate_settings {
  std::shared_ptr<const tls_context> tls; ///< null = plaintext
  std::shared_ptr<access_file> access;    ///< null = no access file
  std::string shared_token;               ///< the federation's token; "" = none
  /// What this node calls itself in its proofs: its certificate's name with
  /// TLS, else --identity, else its node id.
  std::string identity;
  /// The key of its own proofs: its per-node token, else the shared token.
  std::string own_token;
  /// A connection that has not authenticated by then is closed.
  double auth_timeout_s = 10;
  /// Connections at once that have not authenticated (further ones are
  /// closed at accept), and connections at once in all.
  size_t max_pending = 64;
  size_t max_connections = 1024;
  /// Largest actor-runtime message an authenticated peer may announce: a
  /// model chunk (transport.chunk_mib, at most 256 MiB) plus its envelope.
  uint32_t max_frame_bytes = (256u + 1u) << 20;
};

/// Who is at the other end of a connection, once it proved it.
struct peer_identity {
  std::string name;
  id_grants ids;
};

/// Counters, for logs, tests and benchmarks.
struct gate_stats {
  uint64_t admitted = 0;
  uint64_t refused_proof = 0;    ///< wrong token, certificate, identity
  uint64_t refused_revoked = 0;  ///< on the deny list
  uint64_t refused_busy = 0;     ///< over max_pending / max_connections
  uint64_t refused_protocol = 0; ///< garbage, oversized or forbidden frames
  uint64_t timed_out = 0;        ///< no proof within auth_timeout_s
  uint64_t closed_revoked = 0;   ///< live connections closed by a revocation
  size_t pending = 0;
  size_t open = 0;
};

/// The policy at a node's edge, shared by its I/O thread (the guarded
/// connections) and its connectors. Thread-safe.
///
/// A peer is admitted when its proof checks out:
///   * with TLS: the certificate chains to the federation's CA (OpenSSL
///     checked it in the handshake) and names the identity of the proof;
///     with an access file the identity must also be listed there;
///   * without TLS, with an access file: the identity is listed and the
///     proof is made with its per-node token;
///   * without TLS, with only a shared token: the proof is made with it;
///     every holder is trusted with any node id;
///   * otherwise (loopback or --insecure) anyone is admitted.
/// Denied identities are refused in every mode. Admitted peers get the node
/// ids their certificate or access entry grants (by default only their own
/// name; anything in the last two modes).
class gatekeeper {
public:
  gatekeeper(gate_settings s, loggers log);
  ~gatekeeper(); // where guarded_scribe is complete
  gatekeeper(const gatekeeper&) = delete;
  gatekeeper& operator=(const gatekeeper&) = delete;

  const gate_settings& settings() const { return s_; }

  /// A short description of the mode, for the start-up log.
  std::string describe_mode() const;

  /// Accounting: a connection begins (false = over a cap; the caller closes
  /// it), authenticates, ends.
  bool try_open(const std::string& addr);
  void on_authenticated();
  void on_closed(bool was_pending);

  struct judgement {
    verdict_code code = verdict_code::refused;
    peer_identity who;
    std::string why; ///< for the log when refused
  };

  /// Judges the other side's proof (signed by `who` over our nonce `n`);
  /// `cert` is the peer's certificate identity (TLS) or null.
  judgement judge(signer who, const proof& p, const nonce& n,
                  const cert_identity* cert) const;

  /// Binds an actor-runtime node to the identity proven on a connection, so
  /// connectors can tell who sent a message. Refused (false, with why) when
  /// the node is already bound to another identity.
  bool bind(const caf::node_id& node, const peer_identity& who,
            std::string& why);
  void unbind(const caf::node_id& node);

  /// May the node that sent a message join as `node_id`? False with a
  /// reason when it never authenticated, is revoked, or lacks the grant.
  bool may_join(const caf::node_id& sender, const std::string& node_id,
                std::string& why) const;

  /// Whether connectors must check joins at all (false in open mode).
  bool binds_identities() const;

  bool revoked(const std::string& identity) const;

  /// Logs a refusal once per peer address and reason (later ones only
  /// count), so a flood cannot flood the log.
  void refuse(const std::string& addr, const std::string& why);

  /// Watches a connection: the sweep closes it when it does not
  /// authenticate in time or its identity is revoked.
  void watch(caf::intrusive_ptr<guarded_scribe> conn);

  /// Runs on the I/O thread (once per second): closes connections that
  /// timed out or were revoked and forgets closed ones.
  void sweep();

  /// Re-reads the access file if it changed; returns true when new rules
  /// took effect. Errors are logged and keep the old rules.
  bool reload();

  gate_stats stats() const;
  const loggers& log() const { return log_; }

  /// What a node we dialed answered: a refusal is remembered per address
  /// (host:port) until it admits us, so the dialing side can stop retrying
  /// and say why.
  void note_verdict(const std::string& addr, verdict_code code);
  std::optional<verdict_code> refused_by(const std::string& addr) const;

  /// Counters the connections bump directly.
  void count_protocol_refusal() { ++protocol_refusals_; }
  void count_revoked_close() { ++closed_revoked_; }
  void count_timeout() { ++timeouts_; }

private:
  /// The token `identity` must have proven (null: none to check).
  const std::string* token_for(const std::string& identity,
                               std::shared_ptr<const access_rules>& rules,
                               bool& listed) const;

  gate_settings s_;
  loggers log_;
  mutable std::mutex mtx_;
  size_t pending_ = 0, open_ = 0;
  uint64_t admitted_ = 0, refused_busy_ = 0;
  mutable std::atomic<uint64_t> refused_proof_{0}, refused_revoked_{0};
  std::atomic<uint64_t> protocol_refusals_{0}, timeouts_{0}, closed_revoked_{0};
  std::map<caf::node_id, std::pair<peer_identity, size_t>> bound_;
  std::set<std::string> logged_;
  uint64_t unlogged_ = 0;
  std::vector<caf::intrusive_ptr<guarded_scribe>> watched_;
  std::map<std::string, verdict_code> refused_by_;
};

} // namespace fl::net
