#include "runtime/net/auth_frames.hpp"

#include "runtime/net/access_list.hpp"

#include <cstring>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdexcept>

namespace fl::net {

namespace {

constexpr char hello_magic[4] = {'F', 'L', 'A', 'H'};
constexpr char proof_magic[4] = {'F', 'L', 'A', 'P'};
constexpr char verdict_magic[4] = {'F', 'L', 'A', 'V'};
constexpr size_t identity_at = 8;
constexpr size_t after_identity = identity_at + max_identity;

bool well_formed(const char* data, size_t size, size_t want,
                 const char (&magic)[4]) {
  return size == want && std::memcmp(data, magic, 4) == 0
         && static_cast<uint8_t>(data[4]) == auth_version;
}

/// Writes identity (length byte at `len_at`, zero-padded text at 8).
void put_identity(std::vector<char>& out, size_t len_at,
                  const std::string& identity) {
  out[len_at] = static_cast<char>(identity.size());
  std::memcpy(out.data() + identity_at, identity.data(), identity.size());
}

/// Reads an identity of length data[len_at]; empty when malformed.
std::string get_identity(const char* data, size_t len_at) {
  auto len = static_cast<uint8_t>(data[len_at]);
  if (len == 0 || len > max_identity)
    return {};
  for (size_t i = identity_at + len; i < after_identity; ++i)
    if (data[i] != 0)
      return {};
  std::string id(data + identity_at, len);
  return valid_identity(id) ? id : std::string{};
}

} // namespace

const char* to_string(verdict_code x) {
  switch (x) {
  case verdict_code::admitted:
    return "admitted";
  case verdict_code::refused:
    return "refused: unknown identity, wrong token or certificate";
  case verdict_code::revoked:
    return "refused: this identity is revoked (deny list)";
  }
  return "refused";
}

nonce random_nonce() {
  nonce n{};
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1)
    throw std::runtime_error("the system's random generator failed");
  return n;
}

std::vector<char> encode_hello(const nonce& n) {
  std::vector<char> out(hello_size, 0);
  std::memcpy(out.data(), hello_magic, 4);
  out[4] = static_cast<char>(auth_version);
  std::memcpy(out.data() + 8, n.data(), n.size());
  return out;
}

std::optional<nonce> decode_hello(const char* data, size_t size) {
  if (!well_formed(data, size, hello_size, hello_magic) || data[5] != 0
      || data[6] != 0 || data[7] != 0)
    return std::nullopt;
  nonce n{};
  std::memcpy(n.data(), data + 8, n.size());
  return n;
}

mac proof_mac(signer who, const std::string& token, const nonce& n,
              const std::string& identity) {
  const std::string label = who == signer::dialer ? "fedactor-auth-1-dialer"
                                                  : "fedactor-auth-1-acceptor";
  std::vector<unsigned char> msg(label.begin(), label.end());
  msg.insert(msg.end(), n.begin(), n.end());
  msg.insert(msg.end(), identity.begin(), identity.end());
  mac out{};
  unsigned int len = 0;
  static const unsigned char empty_key = 0;
  HMAC(EVP_sha256(),
       token.empty() ? &empty_key
                     : reinterpret_cast<const unsigned char*>(token.data()),
       static_cast<int>(token.size()), msg.data(), msg.size(), out.data(),
       &len);
  return out;
}

std::vector<char> encode_proof(const std::string& identity,
                               const std::string& token, const nonce& theirs,
                               const nonce& ours) {
  std::vector<char> out(proof_size, 0);
  std::memcpy(out.data(), proof_magic, 4);
  out[4] = static_cast<char>(auth_version);
  put_identity(out, 5, identity);
  std::memcpy(out.data() + after_identity, ours.data(), ours.size());
  auto m = proof_mac(signer::dialer, token, theirs, identity);
  std::memcpy(out.data() + after_identity + 32, m.data(), m.size());
  return out;
}

std::optional<proof> decode_proof(const char* data, size_t size) {
  if (!well_formed(data, size, proof_size, proof_magic) || data[6] != 0
      || data[7] != 0)
    return std::nullopt;
  proof p;
  p.identity = get_identity(data, 5);
  if (p.identity.empty())
    return std::nullopt;
  std::memcpy(p.nonce.data(), data + after_identity, p.nonce.size());
  std::memcpy(p.mac.data(), data + after_identity + 32, p.mac.size());
  return p;
}

bool proof_matches(signer who, const proof& p, const std::string& token,
                   const nonce& n) {
  auto expected = proof_mac(who, token, n, p.identity);
  return CRYPTO_memcmp(expected.data(), p.mac.data(), expected.size()) == 0;
}

std::vector<char> encode_verdict(verdict_code code, const std::string& identity,
                                 const std::string& token, const nonce& n) {
  std::vector<char> out(verdict_size, 0);
  std::memcpy(out.data(), verdict_magic, 4);
  out[4] = static_cast<char>(auth_version);
  out[5] = static_cast<char>(code);
  if (code == verdict_code::admitted) {
    put_identity(out, 6, identity);
    auto m = proof_mac(signer::acceptor, token, n, identity);
    std::memcpy(out.data() + after_identity, m.data(), m.size());
  }
  return out;
}

std::optional<proof> decode_verdict(const char* data, size_t size) {
  if (!well_formed(data, size, verdict_size, verdict_magic) || data[7] != 0)
    return std::nullopt;
  auto code = static_cast<uint8_t>(data[5]);
  if (code > static_cast<uint8_t>(verdict_code::revoked))
    return std::nullopt;
  proof p;
  p.code = static_cast<verdict_code>(code);
  if (p.code != verdict_code::admitted)
    return p;
  p.identity = get_identity(data, 6);
  if (p.identity.empty())
    return std::nullopt;
  std::memcpy(p.mac.data(), data + after_identity, p.mac.size());
  return p;
}

} // namespace fl::net
