// The fixed-size authentication frames: round trips, forgeries, replays.

#include "runtime/net/auth_frames.hpp"

#include <catch2/catch.hpp>

using namespace fl::net;

TEST_CASE("a proof made with the token checks out over that nonce only",
          "[net][auth]") {
  auto n1 = random_nonce();
  auto n2 = random_nonce();
  REQUIRE(n1 != n2);
  auto mine = random_nonce();
  auto bytes = encode_proof("host-a", "tok-0123456789abcdef", n1, mine);
  REQUIRE(bytes.size() == proof_size);
  auto p = decode_proof(bytes.data(), bytes.size());
  REQUIRE(p);
  CHECK(p->identity == "host-a");
  CHECK(p->nonce == mine);
  CHECK(proof_matches(signer::dialer, *p, "tok-0123456789abcdef", n1));
  CHECK_FALSE(proof_matches(signer::dialer, *p, "tok-0123456789abcdeX", n1));
  // Replayed on a connection with another nonce.
  CHECK_FALSE(proof_matches(signer::dialer, *p, "tok-0123456789abcdef", n2));
  // The same mac does not pass as the other direction's.
  CHECK_FALSE(proof_matches(signer::acceptor, *p, "tok-0123456789abcdef", n1));
}

TEST_CASE("a proof whose identity was altered fails", "[net][auth]") {
  auto n = random_nonce();
  auto bytes = encode_proof("host-a", "secret-secret-secret", n, n);
  bytes[8] = 'b'; // "bost-a"
  auto p = decode_proof(bytes.data(), bytes.size());
  REQUIRE(p);
  CHECK_FALSE(proof_matches(signer::dialer, *p, "secret-secret-secret", n));
}

TEST_CASE("malformed frames are refused", "[net][auth]") {
  auto n = random_nonce();
  auto hello = encode_hello(n);
  CHECK(decode_hello(hello.data(), hello.size()) == n);
  CHECK_FALSE(decode_hello(hello.data(), hello.size() - 1));
  auto bad = hello;
  bad[4] = 9; // version
  CHECK_FALSE(decode_hello(bad.data(), bad.size()));
  auto proof = encode_proof("a", "", n, n);
  auto p = proof;
  p[5] = 0; // empty identity
  CHECK_FALSE(decode_proof(p.data(), p.size()));
  p = proof;
  p[5] = 65; // longer than the field
  CHECK_FALSE(decode_proof(p.data(), p.size()));
  p = proof;
  p[20] = 'x'; // junk in the padding
  CHECK_FALSE(decode_proof(p.data(), p.size()));
  p = proof;
  p[8] = ' '; // not an identity character
  CHECK_FALSE(decode_proof(p.data(), p.size()));
  p = proof;
  p[0] = 'X';
  CHECK_FALSE(decode_proof(p.data(), p.size()));
}

TEST_CASE("verdicts carry the acceptor's proof when admitting", "[net][auth]") {
  auto n = random_nonce();
  auto yes = encode_verdict(verdict_code::admitted, "server", "k", n);
  auto v = decode_verdict(yes.data(), yes.size());
  REQUIRE(v);
  CHECK(v->code == verdict_code::admitted);
  CHECK(v->identity == "server");
  CHECK(proof_matches(signer::acceptor, *v, "k", n));
  auto no = encode_verdict(verdict_code::revoked, "server", "k", n);
  v = decode_verdict(no.data(), no.size());
  REQUIRE(v);
  CHECK(v->code == verdict_code::revoked);
  no[5] = 7; // unknown code
  CHECK_FALSE(decode_verdict(no.data(), no.size()));
}
