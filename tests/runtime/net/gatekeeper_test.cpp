// The gatekeeper's policy: who is admitted in each mode, which node ids an
// identity may join as, revocation, connection caps.

#include "runtime/core/errors.hpp"
#include "runtime/net/certificates.hpp"
#include "runtime/net/gatekeeper.hpp"
#include "support/log_capture.hpp"
#include "support/temp_files.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>

using namespace fl;
using namespace fl::net;

namespace {

struct fixture {
  test::log_capture logs;
  test::temp_dir dir;
  std::string access_path = dir.path("access.toml");

  std::shared_ptr<access_file> access(const std::string& text) {
    std::ofstream{access_path} << text;
    return *access_file::open(access_path);
  }

  static proof prove(const std::string& id, const std::string& token,
                     const nonce& n) {
    auto bytes = encode_proof(id, token, n, random_nonce());
    return *decode_proof(bytes.data(), bytes.size());
  }
};

caf::node_id some_node(uint32_t pid) {
  caf::node_id::default_data::host_id_type host{};
  host[0] = 1;
  return caf::make_node_id(pid, host);
}

} // namespace

TEST_CASE("with a shared token only its holders are admitted, with any id",
          "[net][gatekeeper]") {
  fixture f;
  gate_settings s;
  s.shared_token = "shared-secret-1234";
  gatekeeper gate{s, f.logs.log()};
  auto n = random_nonce();
  auto j = gate.judge(signer::dialer, f.prove("x", "shared-secret-1234", n), n,
                      nullptr);
  CHECK(j.code == verdict_code::admitted);
  CHECK(j.who.ids.allows("client-42"));
  j = gate.judge(signer::dialer, f.prove("x", "guess", n), n, nullptr);
  CHECK(j.code == verdict_code::refused);
  CHECK_FALSE(gate.binds_identities());
}

TEST_CASE("with an access file each identity proves its own token and "
          "joins only under its grants",
          "[net][gatekeeper]") {
  fixture f;
  gate_settings s;
  s.access = f.access("[nodes.host-a]\ntoken = \"aaaaaaaaaaaaaaaa\"\n"
                      "ids = [\"client-0..1\"]\n"
                      "[nodes.host-b]\ntoken = \"bbbbbbbbbbbbbbbb\"\n");
  gatekeeper gate{s, f.logs.log()};
  auto n = random_nonce();
  auto a = gate.judge(signer::dialer, f.prove("host-a", "aaaaaaaaaaaaaaaa", n),
                      n, nullptr);
  REQUIRE(a.code == verdict_code::admitted);
  // host-b's token does not prove host-a; an unlisted name is refused.
  CHECK(gate.judge(signer::dialer, f.prove("host-a", "bbbbbbbbbbbbbbbb", n), n,
                   nullptr)
            .code
        == verdict_code::refused);
  CHECK(gate.judge(signer::dialer, f.prove("host-z", "", n), n, nullptr).code
        == verdict_code::refused);
  // Bound to its runtime node, host-a may join as client-0 and client-1.
  auto node_a = some_node(1);
  std::string why;
  REQUIRE(gate.bind(node_a, a.who, why));
  CHECK(gate.may_join(node_a, "client-1", why));
  CHECK_FALSE(gate.may_join(node_a, "client-2", why));
  CHECK_THAT(why, Catch::Contains("may join only as client-0..1"));
  // A node that never proved anything may join as nothing.
  CHECK_FALSE(gate.may_join(some_node(2), "client-0", why));
  // Another identity cannot take over host-a's runtime node.
  auto b = gate.judge(signer::dialer, f.prove("host-b", "bbbbbbbbbbbbbbbb", n),
                      n, nullptr);
  CHECK_FALSE(gate.bind(node_a, b.who, why));
  gate.unbind(node_a);
  CHECK_FALSE(gate.may_join(node_a, "client-0", why));
}

TEST_CASE("a denied identity is refused and revoked while connected",
          "[net][gatekeeper]") {
  fixture f;
  gate_settings s;
  s.access = f.access("[nodes.host-a]\ntoken = \"aaaaaaaaaaaaaaaa\"\n");
  gatekeeper gate{s, f.logs.log()};
  auto n = random_nonce();
  auto a = gate.judge(signer::dialer, f.prove("host-a", "aaaaaaaaaaaaaaaa", n),
                      n, nullptr);
  REQUIRE(a.code == verdict_code::admitted);
  auto node_a = some_node(1);
  std::string why;
  REQUIRE(gate.bind(node_a, a.who, why));
  CHECK_FALSE(gate.revoked("host-a"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::ofstream{f.access_path} << "deny = [\"host-a\"]\n[nodes.host-a]\n"
                                  "token = \"aaaaaaaaaaaaaaaa\"\n";
  CHECK(gate.reload());
  CHECK(gate.revoked("host-a"));
  CHECK_FALSE(gate.may_join(node_a, "host-a", why));
  CHECK(gate.judge(signer::dialer, f.prove("host-a", "aaaaaaaaaaaaaaaa", n), n,
                   nullptr)
            .code
        == verdict_code::revoked);
}

TEST_CASE("with TLS the certificate must name the identity proven, and "
          "its grants are the ids it may use",
          "[net][gatekeeper]") {
  fixture f;
  REQUIRE_FALSE(make_startup_kits(
      f.dir.path("kits"), {{"server", {}}, {"host-a", {"client-0..3"}}}, 30));
  auto tls = tls_context::load(tls_files::in_folder(f.dir.path("kits/server")));
  REQUIRE(tls);
  CHECK((*tls)->own().name == "server");
  gate_settings s;
  s.tls = *tls;
  gatekeeper gate{s, f.logs.log()};
  auto n = random_nonce();
  cert_identity cert{"host-a", {"client-0..3"}};
  // The token is not needed with TLS (none is known for host-a).
  auto j = gate.judge(signer::dialer, f.prove("host-a", "", n), n, &cert);
  REQUIRE(j.code == verdict_code::admitted);
  CHECK(j.who.ids.allows("client-3"));
  CHECK_FALSE(j.who.ids.allows("host-a"));
  // host-a's certificate cannot prove host-b; no certificate proves nothing.
  CHECK(gate.judge(signer::dialer, f.prove("host-b", "", n), n, &cert).code
        == verdict_code::refused);
  CHECK(gate.judge(signer::dialer, f.prove("host-a", "", n), n, nullptr).code
        == verdict_code::refused);
}

TEST_CASE("startup kits: certificates name their node and grants; files "
          "that do not belong together are refused at load",
          "[net][certs]") {
  fixture f;
  REQUIRE_FALSE(make_startup_kits(f.dir.path("one"), {{"a", {"c-0..1"}}}, 30));
  REQUIRE_FALSE(make_startup_kits(f.dir.path("two"), {{"b", {}}}, 30));
  auto a = tls_context::load(tls_files::in_folder(f.dir.path("one/a")));
  REQUIRE(a);
  CHECK((*a)->own().grants == std::vector<std::string>{"c-0..1"});
  // A kit is never overwritten.
  CHECK(make_startup_kits(f.dir.path("one"), {{"a", {}}}, 30));
  // A certificate of another CA.
  auto mixed = tls_files::in_folder(f.dir.path("one/a"));
  mixed.ca = f.dir.path("two/ca.pem");
  auto err = tls_context::load(mixed);
  REQUIRE_FALSE(err);
  CHECK_THAT(describe(err.error()), Catch::Contains("is not accepted by"));
  // A key that is not the certificate's.
  mixed = tls_files::in_folder(f.dir.path("one/a"));
  mixed.key = f.dir.path("two/b/key.pem");
  err = tls_context::load(mixed);
  REQUIRE_FALSE(err);
  CHECK_THAT(describe(err.error()), Catch::Contains("does not belong to"));
  // An expired certificate.
  REQUIRE_FALSE(make_startup_kits(f.dir.path("one"), {{"old", {}}}, 1, -3));
  err = tls_context::load(tls_files::in_folder(f.dir.path("one/old")));
  REQUIRE_FALSE(err);
  CHECK_THAT(describe(err.error()), Catch::Contains("expired"));
  // Missing files.
  err = tls_context::load(tls_files::in_folder(f.dir.path("nowhere")));
  REQUIRE_FALSE(err);
  CHECK_THAT(describe(err.error()), Catch::Contains("cannot read TLS file"));
  // Bad requests.
  CHECK_FALSE(parse_kit_request("bad name"));
  CHECK_FALSE(parse_kit_request("a=c-5..1"));
  auto r = parse_kit_request("relay=client-0..9+server");
  REQUIRE(r);
  CHECK(r->grants.size() == 2);
}

TEST_CASE("connections beyond the caps are refused and counted",
          "[net][gatekeeper]") {
  fixture f;
  gate_settings s;
  s.max_pending = 2;
  s.max_connections = 3;
  gatekeeper gate{s, f.logs.log()};
  CHECK(gate.try_open("a"));
  CHECK(gate.try_open("a"));
  CHECK_FALSE(gate.try_open("a")); // 2 pending already
  gate.on_authenticated();
  CHECK(gate.try_open("b"));
  CHECK_FALSE(gate.try_open("b")); // 1 open + 2 pending = 3 in all
  gate.on_closed(true);
  CHECK(gate.try_open("c"));
  auto st = gate.stats();
  CHECK(st.refused_busy == 2);
  CHECK(st.pending == 2);
  CHECK(st.open == 1);
  // Each (address, reason) is logged once.
  auto text = f.logs.text();
  size_t lines = 0;
  for (auto at = text.find("too many connections"); at != std::string::npos;
       at = text.find("too many connections", at + 1))
    ++lines;
  CHECK(lines == 2);
}
