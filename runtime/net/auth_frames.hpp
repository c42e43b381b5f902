#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fl::net {

/// The three fixed-size frames every connection between nodes starts with,
/// before the actor runtime's own protocol (BASP) may speak. They are the
/// only bytes a node reads from a peer that has not authenticated, so a
/// stranger can make it allocate no more than their size.
///
///   acceptor -> dialer  hello    "FLAH" version 0 0 0 nonce[32] (40 B) dialer
///   -> acceptor  proof    "FLAP" version len 0 0 identity[64]
///                                nonce[32] mac[32]                      (136
///                                B)
///   acceptor -> dialer  verdict  "FLAV" version code len 0 identity[64]
///                                mac[32]                                (104
///                                B)
///
/// Each side proves its identity over the other side's fresh nonce:
/// mac = HMAC-SHA256(token, label | peer's nonce | identity), with distinct
/// labels per direction. The token itself never travels, and a recorded
/// proof is worthless for any other connection. Inside TLS the identity
/// must also match the certificate.
constexpr uint8_t auth_version = 1;
constexpr size_t hello_size = 40;
constexpr size_t proof_size = 136;
constexpr size_t verdict_size = 104;
constexpr size_t max_identity = 64;

using nonce = std::array<uint8_t, 32>;
using mac = std::array<uint8_t, 32>;

enum class verdict_code : uint8_t {
  admitted = 0,
  refused = 1, ///< unknown identity, wrong token or certificate mismatch
  revoked = 2, ///< on the deny list
};

const char* to_string(verdict_code x);

/// Which side signs: the dialer in its proof, the acceptor in its verdict.
enum class signer : uint8_t { dialer, acceptor };

/// A decoded proof (the dialer's) or verdict (the acceptor's).
struct proof {
  verdict_code code = verdict_code::admitted; ///< verdicts only
  std::string identity;
  net::nonce nonce{}; ///< proofs only: the dialer's challenge to the acceptor
  net::mac mac{};
};

/// A fresh nonce from the system's CSPRNG.
nonce random_nonce();

std::vector<char> encode_hello(const nonce& n);
std::optional<nonce> decode_hello(const char* data, size_t size);

/// mac over the peer's nonce and identity with `token` as the key ("" is
/// allowed: it proves nothing but keeps one code path).
mac proof_mac(signer who, const std::string& token, const nonce& n,
              const std::string& identity);

/// The dialer's proof of `identity` over the acceptor's nonce `theirs`,
/// carrying its own challenge `ours`.
std::vector<char> encode_proof(const std::string& identity,
                               const std::string& token, const nonce& theirs,
                               const nonce& ours);
/// Nothing when the bytes are not a well-formed proof (magic, version,
/// length, identity characters, zero padding).
std::optional<proof> decode_proof(const char* data, size_t size);

/// Constant-time check of a received proof or verdict's mac.
bool proof_matches(signer who, const proof& p, const std::string& token,
                   const nonce& n);

/// The acceptor's verdict; when admitted, it proves `identity` over the
/// dialer's nonce.
std::vector<char> encode_verdict(verdict_code code, const std::string& identity,
                                 const std::string& token, const nonce& n);
std::optional<proof> decode_verdict(const char* data, size_t size);

} // namespace fl::net
