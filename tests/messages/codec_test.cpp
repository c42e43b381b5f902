#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "messages/codec.hpp"
#include "runtime/core/errors.hpp"
#include "support/wire_helpers.hpp"

using namespace fl;
using fl::test::code_of;
using fl::test::share;

namespace {

model_layout two_layers() {
  model_layout l;
  l.add("fc.weight", {3, 4});
  l.add("fc.bias", {3});
  return l;
}

update_msg make_update(const std::vector<float>& values) {
  update_msg up;
  up.node_id = "client-7";
  up.round = 3;
  up.base_version = 2;
  up.num_samples = 600;
  up.model.kind = tensor_kind::params;
  up.model.layout = two_layers();
  up.model.values = span<const float>{values};
  up.metrics = train_metrics{0.5, 0.75, 1.25};
  return up;
}

/// Byte offset of the first occurrence of `needle` (a float pattern).
size_t find_bytes(const byte_buffer& hay, const void* needle, size_t n) {
  for (size_t i = 0; i + n <= hay.size(); ++i)
    if (std::memcmp(hay.data() + i, needle, n) == 0)
      return i;
  FAIL("pattern not found");
  return 0;
}

} // namespace

TEST_CASE("an update survives encode and decode unchanged", "[codec]") {
  // Prepare
  std::vector<float> values(15);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<float>(i) * 0.5f - 1.0f;
  // Execute
  auto bytes = share(encode(envelope{"server", make_update(values)}));
  auto env = decode(bytes);
  // Assert
  REQUIRE(env);
  CHECK(env->target == "server");
  auto& up = std::get<update_msg>(env->body);
  CHECK(up.node_id == "client-7");
  CHECK(up.round == 3);
  CHECK(up.base_version == 2);
  CHECK(up.num_samples == 600);
  CHECK(up.metrics.accuracy == 0.75);
  CHECK(up.model.layout == two_layers());
  REQUIRE(up.model.values.size() == values.size());
  CHECK(std::equal(values.begin(), values.end(), up.model.values.begin()));
}

TEST_CASE("decoded tensors are views into the frame", "[codec]") {
  std::vector<float> values(15, 2.0f);
  auto bytes = share(encode(envelope{"", make_update(values)}));
  auto env = decode(bytes);
  REQUIRE(env);
  auto& t = std::get<update_msg>(env->body).model;
  auto* p = reinterpret_cast<const uint8_t*>(t.values.data());
  CHECK(p >= bytes->data());
  CHECK(p + t.values.size_bytes() <= bytes->data() + bytes->size());
  CHECK(t.owner.get() == bytes.get());
}

TEST_CASE("every message kind round-trips", "[codec]") {
  std::vector<float> values(15, 1.0f);
  tensor t;
  t.layout = two_layers();
  t.values = span<const float>{values};
  std::vector<message> all{
    join_msg{"c1", node_role::client, {"train"}, "secret", 10, 1, 77, 15},
    welcome_msg{"c1", "server", 4, 5000, federation_mode::async},
    activation_msg{2, 4, t, {}, {}},
    request_msg{"c1"},
    model_msg{4, t, {}},
    evaluate_msg{2, 4, t},
    eval_result_msg{"c1", 2, 100, 0.3, 0.9},
    heartbeat_msg{"c1", 123456},
    exit_msg{"done"},
    error_msg{7, "bad", "c1", 3},
  };
  for (auto& m : all) {
    auto env = decode(share(encode(envelope{"x", m})));
    REQUIRE(env);
    CHECK(env->body.index() == m.index());
    CHECK(message_name(env->body) == message_name(m));
  }
  auto j = decode(share(encode(envelope{"", all[0]})));
  REQUIRE(j);
  CHECK(std::get<join_msg>(j->body).auth_token == "secret");
  CHECK(std::get<join_msg>(j->body).capabilities
        == std::vector<std::string>{"train"});
}

TEST_CASE("malformed frames are rejected with the right error", "[codec]") {
  std::vector<float> values(15, 1.0f);
  auto good = encode(envelope{"", make_update(values)});

  SECTION("empty and short frames are truncated") {
    CHECK(code_of(decode(share({})).error()) == errc::truncated_message);
    CHECK(code_of(decode(share(byte_buffer(4))).error())
          == errc::truncated_message);
  }
  SECTION("a frame cut short is truncated") {
    auto cut = good;
    cut.resize(cut.size() - 64);
    CHECK(code_of(decode(share(cut)).error()) == errc::truncated_message);
  }
  SECTION("a size not a multiple of 8 is truncated") {
    auto odd = good;
    odd.push_back(0);
    CHECK(code_of(decode(share(odd)).error()) == errc::truncated_message);
  }
  SECTION("garbage is malformed, not a crash") {
    byte_buffer junk(256);
    for (size_t i = 0; i < junk.size(); ++i)
      junk[i] = static_cast<uint8_t>(i * 37 + 11);
    junk[0] = junk[1] = junk[2] = junk[3] = 0; // one segment
    uint32_t words = 31;
    std::memcpy(junk.data() + 4, &words, 4);
    auto res = decode(share(junk));
    REQUIRE(!res);
    auto c = code_of(res.error());
    CHECK((c == errc::malformed_message || c == errc::unknown_enum_value
           || c == errc::invalid_field || c == errc::size_mismatch
           || c == errc::truncated_message || c == errc::layout_mismatch));
  }
  SECTION("too many segments is malformed") {
    auto bad = good;
    uint32_t n = 100000;
    std::memcpy(bad.data(), &n, 4);
    CHECK(code_of(decode(share(bad)).error()) == errc::malformed_message);
  }
  SECTION("NaN or Inf in a model is non_finite_value") {
    for (float poison : {std::numeric_limits<float>::quiet_NaN(),
                         std::numeric_limits<float>::infinity()}) {
      auto v = values;
      v[9] = poison;
      auto res = decode(share(encode(envelope{"", make_update(v)})));
      REQUIRE(!res);
      CHECK(code_of(res.error()) == errc::non_finite_value);
    }
  }
  SECTION("a layout hash that does not match its layers") {
    // Flip the stored hash: find it in the frame and corrupt one byte.
    auto bad = good;
    auto h = two_layers().hash();
    auto pos = find_bytes(bad, &h, sizeof(h));
    bad[pos] ^= 0xff;
    CHECK(code_of(decode(share(bad)).error()) == errc::layout_mismatch);
  }
  SECTION("numel that disagrees with the layers") {
    auto bad = good;
    uint64_t numel = 15;
    auto h = two_layers().hash();
    // numel follows the hash in the Tensor struct's data section.
    auto pos = find_bytes(bad, &h, sizeof(h)) + 8;
    REQUIRE(std::memcmp(bad.data() + pos, &numel, 8) == 0);
    uint64_t wrong = 16;
    std::memcpy(bad.data() + pos, &wrong, 8);
    CHECK(code_of(decode(share(bad)).error()) == errc::size_mismatch);
  }
  SECTION("zero samples is an invalid field") {
    auto up = make_update(values);
    up.num_samples = 0;
    auto res = decode(share(encode(envelope{"", up})));
    CHECK(code_of(res.error()) == errc::invalid_field);
  }
  SECTION("accuracy outside [0, 1] is an invalid field") {
    auto up = make_update(values);
    up.metrics.accuracy = 1.5;
    auto res = decode(share(encode(envelope{"", up})));
    CHECK(code_of(res.error()) == errc::invalid_field);
  }
  SECTION("an empty node id is an invalid field") {
    auto up = make_update(values);
    up.node_id.clear();
    auto res = decode(share(encode(envelope{"", up})));
    CHECK(code_of(res.error()) == errc::invalid_field);
  }
}

TEST_CASE("unknown enum values are rejected", "[codec]") {
  std::vector<float> values(15, 1.0f);
  auto up = make_update(values);
  up.model.kind = tensor_kind::delta; // DELTA = 1 on the wire
  auto bytes = encode(envelope{"", up});
  auto ok = decode(share(bytes));
  REQUIRE(ok);
  // Tensor's data section begins with dtype (UInt16) then kind (UInt16);
  // the layout hash is the next word. Set kind to 7.
  auto h = two_layers().hash();
  auto pos = find_bytes(bytes, &h, sizeof(h)) - 8;
  uint16_t dtype = 0, kind = 0;
  std::memcpy(&dtype, bytes.data() + pos, 2);
  std::memcpy(&kind, bytes.data() + pos + 2, 2);
  REQUIRE(dtype == 0);
  REQUIRE(kind == 1);
  uint16_t bogus = 7;
  std::memcpy(bytes.data() + pos + 2, &bogus, 2);
  CHECK(code_of(decode(share(bytes)).error()) == errc::unknown_enum_value);
  uint16_t f16 = 1;
  std::memcpy(bytes.data() + pos + 2, &kind, 2);
  std::memcpy(bytes.data() + pos, &f16, 2);
  CHECK(code_of(decode(share(bytes)).error()) == errc::unsupported_dtype);
}

TEST_CASE("a chunk frame is not a message", "[codec]") {
  std::vector<float> values(4096, 1.0f);
  tensor t;
  t.layout = flat_layout(values.size());
  t.values = span<const float>{values};
  auto frames = encode_frames(envelope{"", model_msg{1, t, {}}}, 4096, 9);
  REQUIRE(frames.size() > 1);
  CHECK(code_of(decode(share(frames[0])).error()) == errc::unexpected_message);
}

TEST_CASE("multicast targets round-trip and are validated", "[codec]") {
  envelope env{"c1", exit_msg{"bye"}, {"c2", "c3"}};
  auto back = decode(share(encode(env)));
  REQUIRE(back);
  CHECK(back->target == "c1");
  CHECK(back->more_targets == std::vector<std::string>{"c2", "c3"});
  envelope bad{"c1", exit_msg{"bye"}, {"c2", ""}};
  CHECK(code_of(decode(share(encode(bad))).error()) == errc::invalid_field);
  envelope headless{"", exit_msg{"bye"}, {"c2"}};
  CHECK(code_of(decode(share(encode(headless))).error())
        == errc::invalid_field);
}

TEST_CASE("a gossip message round-trips and its weight is checked",
          "[codec]") {
  std::vector<float> values(15, 0.25f);
  gossip_msg g;
  g.node_id = "peer-3";
  g.step = 12;
  g.weight = 0.375;
  g.model.layout = two_layers();
  g.model.values = span<const float>{values};
  g.kind = gossip_kind::state;
  auto decoded = decode(share(encode(envelope{"peer-4", g})));
  REQUIRE(decoded);
  REQUIRE(decoded->target == "peer-4");
  auto* back = std::get_if<gossip_msg>(&decoded->body);
  REQUIRE(back != nullptr);
  CHECK(back->node_id == "peer-3");
  CHECK(back->step == 12);
  CHECK(back->weight == 0.375);
  CHECK(back->kind == gossip_kind::state);
  CHECK(std::vector<float>(back->model.values.begin(),
                           back->model.values.end())
        == values);
  CHECK(message_name(decoded->body) == "gossip");
  for (double forged : {0.0, -1.0, 2e6, std::nan(""),
                        std::numeric_limits<double>::infinity()}) {
    INFO(forged);
    g.weight = forged;
    auto bad = decode(share(encode(envelope{"peer-4", g})));
    REQUIRE_FALSE(bad);
    CHECK((code_of(bad.error()) == errc::invalid_field
           || code_of(bad.error()) == errc::non_finite_value));
  }
  g.weight = 1;
  g.model.kind = tensor_kind::delta;
  auto delta = decode(share(encode(envelope{"peer-4", g})));
  REQUIRE_FALSE(delta);
  CHECK(code_of(delta.error()) == errc::invalid_field);
}
