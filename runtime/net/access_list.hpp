#pragma once

#include "runtime/net/id_grants.hpp"

#include <caf/expected.hpp>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace fl::net {

/// One identity the operator admits: its per-node token (needed without
/// TLS, where it is the only proof; with TLS the certificate proves the
/// identity and a token is optional) and the node ids it may join as.
struct access_entry {
  std::string token;
  id_grants ids;
};

/// The operator's access file (TOML), read by servers, schedulers and peers:
///
///     deny = ["host-c"]            # revoked identities (and certificates)
///     [nodes.host-a]
///     token = "<32+ hex chars>"    # per-node token (fl-node certs makes one)
///     ids = ["client-0..7"]        # node ids it may join as; default: its
///     name
///
/// With an access file only the identities listed under [nodes] may connect
/// (unless denied); with TLS, an access file without [nodes] only denies.
/// Without one, any holder of a certificate of the federation's CA (or of
/// the shared token) may connect.
struct access_rules {
  std::map<std::string, access_entry> nodes;
  std::set<std::string> deny;
};

/// A valid identity: 1 to 64 characters of [A-Za-z0-9._-].
bool valid_identity(const std::string& name);

/// Parses an access file's text; `origin` names it in errors.
/// Errors: `invalid_config` with origin:line (syntax, unknown keys, an
/// invalid identity, a token shorter than 16 characters, a bad id grant).
caf::expected<access_rules> parse_access_rules(const std::string& text,
                                               const std::string& origin);

/// An access file that is read again whenever its modification time
/// changes, so that revoking a node takes effect without a restart.
/// Thread-safe: the I/O thread and the connectors read it concurrently.
class access_file {
public:
  /// Errors: `io_error` (unreadable) or from parse_access_rules.
  static caf::expected<std::shared_ptr<access_file>> open(std::string path);

  /// The rules in force.
  std::shared_ptr<const access_rules> rules() const;

  /// Reads the file again if it changed since the last read. Returns true
  /// when new rules took effect; a file that no longer parses keeps the old
  /// rules in force and returns the error (so a typo never opens the gate).
  caf::expected<bool> reload_if_changed();

  const std::string& path() const { return path_; }

private:
  explicit access_file(std::string path) : path_(std::move(path)) {}
  std::string path_;
  mutable std::mutex mtx_;
  std::shared_ptr<const access_rules> rules_;
  struct timespec mtime_ {};
  off_t size_ = -1;
};

} // namespace fl::net
