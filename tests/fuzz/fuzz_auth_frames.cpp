// libFuzzer target: what a stranger can send before authenticating (the
// hello, proof and verdict frames) and the operator's access file. The
// first byte picks which.

#include "runtime/net/access_list.hpp"
#include "runtime/net/auth_frames.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  auto text = reinterpret_cast<const char*>(data + 1);
  auto n = size - 1;
  switch (data[0] % 4) {
  case 0:
    (void)fl::net::decode_hello(text, n);
    break;
  case 1:
    if (auto p = fl::net::decode_proof(text, n))
      (void)fl::net::proof_matches(fl::net::signer::dialer, *p, "token",
                                   fl::net::nonce{});
    break;
  case 2:
    (void)fl::net::decode_verdict(text, n);
    break;
  default:
    (void)fl::net::parse_access_rules(std::string(text, n), "fuzz.toml");
  }
  return 0;
}
