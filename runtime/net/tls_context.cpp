#include "runtime/net/tls_context.hpp"

#include "runtime/core/errors.hpp"
#include "runtime/net/access_list.hpp"

#include <cstdio>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace fl::net {

namespace {

constexpr char grant_prefix[] = "urn:fedactor:ids:";

caf::error fail(const std::string& what) {
  auto details = openssl_errors();
  return make_fl_error(errc::invalid_config,
                       details.empty() ? what : what + " (" + details + ")");
}

struct x509_deleter {
  void operator()(X509* x) const { X509_free(x); }
};

std::unique_ptr<X509, x509_deleter> read_cert(const std::string& path) {
  auto* fp = std::fopen(path.c_str(), "rb");
  if (fp == nullptr)
    return nullptr;
  auto* x = PEM_read_X509(fp, nullptr, nullptr, nullptr);
  std::fclose(fp);
  return std::unique_ptr<X509, x509_deleter>{x};
}

bool readable(const std::string& path) {
  auto* fp = std::fopen(path.c_str(), "rb");
  if (fp == nullptr)
    return false;
  std::fclose(fp);
  return true;
}

} // namespace

tls_files tls_files::in_folder(const std::string& dir) {
  return {dir + "/ca.pem", dir + "/cert.pem", dir + "/key.pem"};
}

std::string openssl_errors() {
  std::string out;
  while (auto e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty())
      out += "; ";
    out += buf;
  }
  return out;
}

caf::expected<cert_identity> identity_of(X509* cert) {
  cert_identity out;
  char cn[256] = {0};
  auto len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
                                       NID_commonName, cn, sizeof(cn));
  if (len <= 0)
    return make_fl_error(errc::invalid_config,
                         "the certificate has no common name");
  out.name.assign(cn, static_cast<size_t>(len));
  if (!valid_identity(out.name))
    return make_fl_error(errc::invalid_config,
                         "the certificate's common name '" + out.name
                             + "' is not a valid identity");
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      auto* gn = sk_GENERAL_NAME_value(names, i);
      if (gn->type != GEN_URI)
        continue;
      auto* s = gn->d.uniformResourceIdentifier;
      std::string uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<size_t>(ASN1_STRING_length(s)));
      if (uri.rfind(grant_prefix, 0) == 0)
        out.grants.push_back(uri.substr(sizeof(grant_prefix) - 1));
    }
    GENERAL_NAMES_free(names);
  }
  if (auto checked = id_grants::parse(out.grants); !checked)
    return std::move(checked.error());
  return out;
}

caf::expected<std::shared_ptr<tls_context>>
tls_context::load(const tls_files& f) {
  for (const auto* path : {&f.ca, &f.cert, &f.key})
    if (!readable(*path))
      return make_fl_error(errc::io_error,
                           "cannot read TLS file '" + *path + "'");
  std::shared_ptr<tls_context> out{new tls_context};
  out->ctx_ = SSL_CTX_new(TLS_method());
  if (out->ctx_ == nullptr)
    return fail("cannot create a TLS context");
  auto* ctx = out->ctx_;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, f.cert.c_str()) != 1)
    return fail("'" + f.cert + "' is not a PEM certificate");
  EVP_PKEY* key = nullptr;
  if (auto* fp = std::fopen(f.key.c_str(), "rb")) {
    key = PEM_read_PrivateKey(fp, nullptr, nullptr, nullptr);
    std::fclose(fp);
  }
  if (key == nullptr)
    return fail("'" + f.key
                + "' is not a PEM private key (or needs a "
                  "passphrase)");
  auto used = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (used != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return fail("'" + f.key + "' does not belong to '" + f.cert + "'");
  if (SSL_CTX_load_verify_locations(ctx, f.ca.c_str(), nullptr) != 1)
    return fail("'" + f.ca + "' is not a PEM CA certificate");
  // Only the federation's CA, never the system's store; the peer must
  // present a certificate (mutual TLS).
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     nullptr);
  SSL_CTX_set_verify_depth(ctx, 2);
  // Bounds what an unauthenticated peer can make OpenSSL buffer for its
  // certificate chain.
  SSL_CTX_set_max_cert_list(ctx, 32 * 1024);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                            | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                            | SSL_MODE_RELEASE_BUFFERS);
  // Our own certificate must pass the same check a peer applies to it, so a
  // wrong CA or an expired certificate is reported here, at start.
  auto own = read_cert(f.cert);
  if (!own)
    return fail("'" + f.cert + "' is not a PEM certificate");
  auto* store = SSL_CTX_get_cert_store(ctx);
  auto* vctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(vctx, store, own.get(), nullptr);
  auto ok = X509_verify_cert(vctx);
  auto verr = X509_STORE_CTX_get_error(vctx);
  X509_STORE_CTX_free(vctx);
  if (ok != 1)
    return make_fl_error(errc::invalid_config,
                         "'" + f.cert + "' is not accepted by '" + f.ca
                             + "': " + X509_verify_cert_error_string(verr));
  auto id = identity_of(own.get());
  if (!id)
    return make_fl_error(errc::invalid_config,
                         "'" + f.cert + "': " + describe(id.error()));
  out->own_ = std::move(*id);
  return out;
}

tls_context::~tls_context() { SSL_CTX_free(ctx_); }

SSL* tls_context::new_session() const { return SSL_new(ctx_); }

} // namespace fl::net
