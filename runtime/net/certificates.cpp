#include "runtime/net/certificates.hpp"

#include "runtime/core/errors.hpp"
#include "runtime/net/access_list.hpp"
#include "runtime/net/id_grants.hpp"
#include "runtime/net/tls_context.hpp"

#include <cstdio>
#include <fstream>
#include <memory>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sstream>
#include <sys/stat.h>

namespace fl::net {

namespace {

struct key_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_free>;
using cert_ptr = std::unique_ptr<X509, x509_free>;

caf::error io_fail(const std::string& what) {
  return make_fl_error(errc::io_error, what);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

/// Opens `path` for writing with `mode` (created; never world-readable).
FILE* create_file(const std::string& path, mode_t mode) {
  auto old = ::umask(077);
  auto* fp = std::fopen(path.c_str(), "wb");
  ::umask(old);
  if (fp != nullptr)
    ::chmod(path.c_str(), mode);
  return fp;
}

caf::error write_key(const std::string& path, EVP_PKEY* key) {
  auto* fp = create_file(path, 0600);
  if (fp == nullptr)
    return io_fail("cannot write '" + path + "'");
  auto ok
      = PEM_write_PrivateKey(fp, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(fp);
  return ok == 1 ? caf::error{} : io_fail("cannot write '" + path + "'");
}

caf::error write_cert(const std::string& path, X509* cert) {
  auto* fp = create_file(path, 0644);
  if (fp == nullptr)
    return io_fail("cannot write '" + path + "'");
  auto ok = PEM_write_X509(fp, cert);
  std::fclose(fp);
  return ok == 1 ? caf::error{} : io_fail("cannot write '" + path + "'");
}

key_ptr new_key() { return key_ptr{EVP_EC_gen("P-256")}; }

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  auto* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr)
    return false;
  auto ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1;
}

/// A certificate for `name` with `key`, signed by `ca_key` (self-signed
/// when `issuer` is null).
cert_ptr issue(const std::string& name, EVP_PKEY* key, X509* issuer,
               EVP_PKEY* ca_key, int days,
               const std::vector<std::string>& grants, int start_days = 0) {
  cert_ptr cert{X509_new()};
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f; // positive
  auto* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  const long start = static_cast<long>(start_days) * 24 * 3600;
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), start - 300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  start + static_cast<long>(days) * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  auto* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      subject, "O", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("fedactor federation"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(
      subject, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  auto* self_or_issuer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(self_or_issuer));
  bool ok = true;
  if (issuer == nullptr) {
    ok = add_ext(cert.get(), cert.get(), NID_basic_constraints,
                 "critical,CA:TRUE,pathlen:0")
         && add_ext(cert.get(), cert.get(), NID_key_usage,
                    "critical,keyCertSign,cRLSign")
         && add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  } else {
    std::string san;
    for (const auto& g : grants)
      san += (san.empty() ? "" : ",") + std::string{"URI:urn:fedactor:ids:"}
             + g;
    ok = add_ext(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE")
         && add_ext(cert.get(), issuer, NID_key_usage,
                    "critical,digitalSignature,keyAgreement")
         && add_ext(cert.get(), issuer, NID_ext_key_usage,
                    "serverAuth,clientAuth")
         && add_ext(cert.get(), issuer, NID_authority_key_identifier,
                    "keyid:always")
         && (san.empty()
             || add_ext(cert.get(), issuer, NID_subject_alt_name, san));
  }
  if (!ok || X509_sign(cert.get(), ca_key, EVP_sha256()) == 0)
    return nullptr;
  return cert;
}

std::string random_token() {
  unsigned char raw[24];
  RAND_bytes(raw, sizeof(raw));
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (auto b : raw) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

caf::expected<std::pair<cert_ptr, key_ptr>> load_ca(const std::string& dir) {
  auto* cf = std::fopen((dir + "/ca.pem").c_str(), "rb");
  auto* kf = std::fopen((dir + "/ca.key").c_str(), "rb");
  cert_ptr cert{cf ? PEM_read_X509(cf, nullptr, nullptr, nullptr) : nullptr};
  key_ptr key{kf ? PEM_read_PrivateKey(kf, nullptr, nullptr, nullptr)
                 : nullptr};
  if (cf)
    std::fclose(cf);
  if (kf)
    std::fclose(kf);
  if (!cert || !key)
    return io_fail("cannot read the CA in '" + dir + "' (ca.pem and ca.key)");
  return std::make_pair(std::move(cert), std::move(key));
}

} // namespace

caf::expected<kit_request> parse_kit_request(const std::string& text) {
  kit_request r;
  auto eq = text.find('=');
  r.name = text.substr(0, eq);
  if (!valid_identity(r.name))
    return make_fl_error(errc::invalid_config,
                         "'" + r.name
                             + "' is not a valid node name (1 to 64 "
                               "characters of A-Z a-z 0-9 . _ -)");
  if (eq != std::string::npos) {
    std::stringstream rest{text.substr(eq + 1)};
    std::string g;
    while (std::getline(rest, g, '+'))
      r.grants.push_back(g);
    if (auto ok = id_grants::parse(r.grants); !ok)
      return std::move(ok.error());
  }
  return r;
}

caf::error make_startup_kits(const std::string& dir,
                             const std::vector<kit_request>& nodes, int days,
                             int start_days) {
  if (days < 1 || days > 36500)
    return make_fl_error(errc::invalid_config, "--days must be in [1, 36500]");
  ::mkdir(dir.c_str(), 0700);
  if (!exists(dir))
    return io_fail("cannot create '" + dir + "'");
  if (!exists(dir + "/ca.pem")) {
    auto ca_key = new_key();
    if (!ca_key)
      return io_fail("cannot generate a key: " + openssl_errors());
    auto ca = issue("fedactor CA", ca_key.get(), nullptr, ca_key.get(),
                    days * 10, {});
    if (!ca)
      return io_fail("cannot create the CA: " + openssl_errors());
    if (auto err = write_key(dir + "/ca.key", ca_key.get()))
      return err;
    if (auto err = write_cert(dir + "/ca.pem", ca.get()))
      return err;
  }
  auto ca = load_ca(dir);
  if (!ca)
    return std::move(ca.error());
  std::string access_lines;
  for (const auto& n : nodes) {
    auto kit = dir + "/" + n.name;
    if (exists(kit))
      return io_fail("a kit for '" + n.name + "' exists in '" + kit
                     + "'; remove it to issue a new one");
    if (::mkdir(kit.c_str(), 0700) != 0)
      return io_fail("cannot create '" + kit + "'");
    auto key = new_key();
    auto cert = key ? issue(n.name, key.get(), ca->first.get(),
                            ca->second.get(), days, n.grants, start_days)
                    : nullptr;
    if (!cert)
      return io_fail("cannot issue a certificate for '" + n.name
                     + "': " + openssl_errors());
    if (auto err = write_key(kit + "/key.pem", key.get()))
      return err;
    if (auto err = write_cert(kit + "/cert.pem", cert.get()))
      return err;
    if (auto err = write_cert(kit + "/ca.pem", ca->first.get()))
      return err;
    auto token = random_token();
    auto* tf = create_file(kit + "/token", 0600);
    if (tf == nullptr)
      return io_fail("cannot write '" + kit + "/token'");
    std::fprintf(tf, "%s\n", token.c_str());
    std::fclose(tf);
    access_lines += "\n[nodes." + n.name + "]\ntoken = \"" + token + "\"\n";
    if (!n.grants.empty()) {
      access_lines += "ids = [";
      for (size_t i = 0; i < n.grants.size(); ++i)
        access_lines += (i ? ", \"" : "\"") + n.grants[i] + "\"";
      access_lines += "]\n";
    }
  }
  auto access = dir + "/access.toml";
  const bool fresh = !exists(access);
  auto* af
      = fresh ? create_file(access, 0600) : std::fopen(access.c_str(), "ab");
  if (af == nullptr)
    return io_fail("cannot write '" + access + "'");
  if (fresh)
    std::fprintf(af, "# Who may connect (fl-node --access FILE); re-read "
                     "when it changes.\n# deny = [\"name\"] revokes a node "
                     "without a restart.\ndeny = []\n");
  std::fputs(access_lines.c_str(), af);
  std::fclose(af);
  return caf::none;
}

} // namespace fl::net
