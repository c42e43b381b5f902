#pragma once

#include "runtime/net/id_grants.hpp"

#include <caf/expected.hpp>
#include <memory>
#include <string>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct x509_st X509;

namespace fl::net {

/// A node's TLS credentials in one folder (what `fl-node certs` writes for
/// each node): `ca.pem` (the federation's CA, the only one trusted),
/// `cert.pem` (this node's certificate, signed by that CA) and `key.pem`.
struct tls_files {
  std::string ca, cert, key;
  /// The three files of a kit folder.
  static tls_files in_folder(const std::string& dir);
};

/// What a certificate says about its holder: the identity is its common
/// name; the node ids it may join as come from its `urn:fedactor:ids:`
/// subject-alternative-name entries (none: only its name).
struct cert_identity {
  std::string name;
  std::vector<std::string> grants;
};

/// The certificate's identity. Errors: `invalid_config` (no common name, an
/// invalid identity, a malformed grant).
caf::expected<cert_identity> identity_of(X509* cert);

/// One SSL_CTX for all of a node's connections, both directions: TLS 1.2 or
/// newer, the peer must present a certificate that chains to the
/// federation's CA (mutual TLS), no other CA is trusted. Loading checks
/// everything once, with clear errors, so nothing can fail later inside the
/// I/O loop.
class tls_context {
public:
  /// Errors: `io_error`/`invalid_config` naming the file and the reason
  /// (unreadable, not PEM, key does not match certificate, certificate not
  /// signed by the CA, expired or not yet valid).
  static caf::expected<std::shared_ptr<tls_context>> load(const tls_files& f);

  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  /// A new session object (null on allocation failure).
  SSL* new_session() const;

  /// This node's identity, from its certificate.
  const cert_identity& own() const { return own_; }

private:
  tls_context() = default;
  SSL_CTX* ctx_ = nullptr;
  cert_identity own_;
};

/// The last OpenSSL errors of this thread as text (and clears them).
std::string openssl_errors();

} // namespace fl::net
