// Compressed updates and configuration dictionaries on the wire: they
// round-trip, and every malformed payload is refused at decode.

#include <catch2/catch.hpp>

#include <vector>

#include "messages/codec.hpp"
#include "runtime/compression/compressor.hpp"
#include "runtime/core/errors.hpp"
#include "support/wire_helpers.hpp"

using namespace fl;
using fl::test::code_of;
using fl::test::share;

namespace {

constexpr uint64_t numel = 15;

model_layout two_layers() {
  model_layout l;
  l.add("fc.weight", {3, 4});
  l.add("fc.bias", {3});
  return l;
}

/// An update carrying `t` (a compressed delta).
update_msg packed_update(encoded_tensor t) {
  update_msg up;
  up.node_id = "client-1";
  up.round = 1;
  up.num_samples = 10;
  up.model.kind = tensor_kind::delta;
  up.model.layout = two_layers();
  up.model.packed = std::make_shared<const encoded_tensor>(std::move(t));
  return up;
}

caf::expected<envelope> round_trip(const message& m) {
  auto bytes = std::make_shared<const byte_buffer>(encode(envelope{"", m}));
  return decode(bytes, decode_limits{});
}

std::vector<float> delta() {
  std::vector<float> d(numel);
  for (size_t i = 0; i < numel; ++i)
    d[i] = static_cast<float>(i % 5) * 0.25f - 0.5f;
  return d;
}

} // namespace

TEST_CASE("every compressed encoding round-trips with its values",
          "[codec][compression]") {
  for (const char* m : {"topk", "qsgd", "fp16", "bf16"}) {
    for (uint32_t bits : {8u, 4u}) {
      if (bits == 4 && std::string{m} != "qsgd")
        continue;
      compression_settings s;
      s.method = m;
      s.topk_ratio = 0.3;
      s.qsgd_bits = bits;
      s.qsgd_bucket = 4;
      compressor c{s, numel, 1};
      auto d = delta();
      auto t = c.compress(span<const float>{d});
      REQUIRE(t);
      std::vector<float> want(numel);
      REQUIRE(!decode_into(*t, span<float>{want}));
      const auto sent_bytes = payload_bytes(*t);
      auto env = round_trip(packed_update(std::move(*t)));
      REQUIRE(env);
      auto& up = std::get<update_msg>(env->body);
      REQUIRE(up.model.packed);
      CHECK(up.model.values.empty());
      CHECK(up.model.packed->numel == numel);
      CHECK(up.model.payload_bytes() == sent_bytes);
      std::vector<float> got(numel);
      REQUIRE(!decode_into(*up.model.packed, span<float>{got}));
      CHECK(got == want);
    }
  }
}

TEST_CASE("compressed payloads with bad indices, counts or levels are "
          "refused at decode",
          "[codec][compression]") {
  std::vector<uint32_t> idx;
  std::vector<float> vals;
  auto topk = [&] {
    encoded_tensor t;
    t.encoding = tensor_encoding::topk;
    t.numel = numel;
    t.sparse.push_back(
      {0, span<const uint32_t>{idx}, span<const float>{vals}});
    return round_trip(packed_update(std::move(t)));
  };
  idx = {2, 9};
  vals = {1, 2};
  CHECK(topk());
  idx = {9, 2};
  CHECK(code_of(topk().error()) == errc::invalid_field); // not increasing
  idx = {2, 2};
  CHECK(code_of(topk().error()) == errc::invalid_field); // duplicate
  idx = {2, 15};
  CHECK(code_of(topk().error()) == errc::invalid_field); // out of range
  idx = {2, 9, 10};
  CHECK(code_of(topk().error()) == errc::size_mismatch); // counts differ
  idx = {2, 9};
  vals = {1, std::numeric_limits<float>::infinity()};
  CHECK(code_of(topk().error()) == errc::non_finite_value);

  std::vector<float> norms{1, 1, 1, 1};
  std::vector<uint8_t> codes(numel, 3);
  auto qsgd = [&](uint32_t levels, uint32_t bits) {
    encoded_tensor t;
    t.encoding = tensor_encoding::qsgd;
    t.numel = numel;
    t.qsgd = {levels, bits, 4, span<const float>{norms},
              span<const uint8_t>{codes}};
    return round_trip(packed_update(std::move(t)));
  };
  CHECK(qsgd(127, 8));
  CHECK(code_of(qsgd(2, 8).error()) == errc::invalid_field); // code 3 > 2
  CHECK(code_of(qsgd(0, 8).error()) == errc::invalid_field);
  CHECK(code_of(qsgd(127, 4).error()) == errc::invalid_field);
  CHECK(code_of(qsgd(7, 4).error()) == errc::size_mismatch); // 15 bytes
  norms.pop_back();
  CHECK(code_of(qsgd(127, 8).error()) == errc::size_mismatch);

  std::vector<uint16_t> half(numel - 1, 0);
  encoded_tensor h;
  h.encoding = tensor_encoding::float16;
  h.numel = numel;
  h.half = span<const uint16_t>{half};
  CHECK(code_of(round_trip(packed_update(h)).error()) == errc::size_mismatch);
  half.assign(numel, 0x7c00); // +Inf
  h.half = span<const uint16_t>{half};
  CHECK(code_of(round_trip(packed_update(h)).error())
        == errc::non_finite_value);
}

TEST_CASE("only a delta update may be compressed", "[codec][compression]") {
  compression_settings s;
  s.method = "fp16";
  compressor c{s, numel, 1};
  auto d = delta();
  auto up = packed_update(*c.compress(span<const float>{d}));
  up.model.kind = tensor_kind::params;
  CHECK(code_of(round_trip(up).error()) == errc::invalid_field);
  // An activation's model may not be packed either.
  activation_msg act;
  act.round = 1;
  act.model = packed_update(*c.compress(span<const float>{d})).model;
  CHECK(code_of(round_trip(act).error()) == errc::invalid_field);
}

TEST_CASE("configuration and metrics dictionaries round-trip and are "
          "validated",
          "[codec]") {
  std::vector<float> values(numel, 0.5f);
  activation_msg act;
  act.round = 2;
  act.model.layout = two_layers();
  act.model.values = span<const float>{values};
  act.config = {{"epochs", int64_t{3}},
                {"lr", 0.01},
                {"optimizer", std::string{"sgd"}},
                {"nesterov", true}};
  act.control.kind = tensor_kind::delta;
  act.control.layout = two_layers();
  act.control.values = span<const float>{values};
  auto env = round_trip(act);
  REQUIRE(env);
  auto& got = std::get<activation_msg>(env->body);
  CHECK(got.config == act.config);
  CHECK(got.control.values.size() == numel);
  // Keys outside [a-z0-9_.-], too many entries, non-finite reals.
  act.config = {{"Bad Key", int64_t{1}}};
  CHECK(code_of(round_trip(act).error()) == errc::invalid_field);
  act.config.clear();
  for (int i = 0; i < 65; ++i)
    act.config["k" + std::to_string(i)] = int64_t{i};
  CHECK(code_of(round_trip(act).error()) == errc::too_large);
  act.config = {{"lr", std::numeric_limits<double>::quiet_NaN()}};
  CHECK(code_of(round_trip(act).error()) == errc::non_finite_value);
  // A control tensor of another layout.
  act.config.clear();
  model_layout other;
  other.add("x", {15});
  act.control.layout = other;
  CHECK(code_of(round_trip(act).error()) == errc::layout_mismatch);
  // Update metrics: local steps and extra metrics travel.
  update_msg up;
  up.node_id = "c";
  up.round = 1;
  up.num_samples = 5;
  up.model.layout = two_layers();
  up.model.values = span<const float>{values};
  up.metrics.local_steps = 42;
  up.extra = {{"grad_norm", 1.5}};
  auto u = round_trip(up);
  REQUIRE(u);
  CHECK(std::get<update_msg>(u->body).metrics.local_steps == 42);
  CHECK(std::get<update_msg>(u->body).extra == up.extra);
}
