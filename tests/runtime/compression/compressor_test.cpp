#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "runtime/compression/compressor.hpp"
#include "runtime/core/errors.hpp"

using namespace fl;

namespace {

std::vector<float> decoded(const encoded_tensor& t) {
  std::vector<float> out(t.numel);
  REQUIRE(!decode_into(t, span<float>{out}));
  return out;
}

compression_settings method(const std::string& m) {
  compression_settings s;
  s.method = m;
  return s;
}

} // namespace

TEST_CASE("top-k keeps the largest magnitudes and feeds the rest back",
          "[compression]") {
  auto s = method("topk");
  s.topk_ratio = 0.4; // 2 of 5
  compressor c{s, 5, 1};
  std::vector<float> d{0.1f, -3.0f, 0.2f, 2.0f, -0.5f};
  auto t = c.compress(span<const float>{d});
  REQUIRE(t);
  REQUIRE(!validate(*t, "t"));
  CHECK(decoded(*t) == std::vector<float>{0, -3.0f, 0, 2.0f, 0});
  CHECK(payload_bytes(*t) == 2 * 8 + 8);
  // The residual (0.1, 0, 0.2, 0, -0.5) is added to the next update:
  // (0.1, 0, 0.2, 0, -0.5) + (0.1, 0, 0.1, 0, -0.1) -> keeps -0.6 and 0.3.
  std::vector<float> d2{0.1f, 0, 0.1f, 0, -0.1f};
  auto t2 = c.compress(span<const float>{d2});
  REQUIRE(t2);
  auto v2 = decoded(*t2);
  CHECK(v2[4] == Approx(-0.6));
  CHECK(v2[2] == Approx(0.3));
  CHECK(v2[0] == 0.0f);
  // What is owed: only the 0.2 of coordinate 0.
  CHECK(c.residual_norm() == Approx(0.2));
}

TEST_CASE("top-k without error feedback drops the rest", "[compression]") {
  auto s = method("topk");
  s.topk_ratio = 0.2;
  s.error_feedback = false;
  compressor c{s, 5, 1};
  std::vector<float> d{1, 2, 3, 4, 5};
  auto t = c.compress(span<const float>{d});
  CHECK(decoded(*t) == std::vector<float>{0, 0, 0, 0, 5});
  CHECK(c.residual_norm() == 0.0);
}

TEST_CASE("QSGD levels are in range and the decode is unbiased",
          "[compression]") {
  for (uint32_t bits : {8u, 4u}) {
    auto s = method("qsgd");
    s.qsgd_bits = bits;
    s.qsgd_bucket = 4;
    s.error_feedback = false;
    compressor c{s, 7, 3};
    std::vector<float> d{0.3f, -0.1f, 0.0f, 0.9f, -0.25f, 0.05f, 0.6f};
    std::vector<double> mean(7, 0.0);
    const int runs = 4000;
    for (int r = 0; r < runs; ++r) {
      auto t = c.compress(span<const float>{d});
      REQUIRE(t);
      REQUIRE(!validate(*t, "t"));
      CHECK(t->qsgd.levels == (bits == 8 ? 127u : 7u));
      CHECK(t->qsgd.norms.size() == 2);
      auto v = decoded(*t);
      for (size_t i = 0; i < 7; ++i)
        mean[i] += v[i] / runs;
    }
    for (size_t i = 0; i < 7; ++i)
      CHECK(mean[i] == Approx(d[i]).margin(bits == 8 ? 0.002 : 0.02));
  }
}

TEST_CASE("fp16 and bf16 round to nearest even and are refused when not "
          "finite",
          "[compression]") {
  CHECK(from_half(to_half(1.0f)) == 1.0f);
  CHECK(from_half(to_half(-2.5f)) == -2.5f);
  CHECK(from_half(to_half(65504.0f)) == 65504.0f);
  CHECK(std::isinf(from_half(to_half(1e6f))));
  CHECK(from_half(to_half(1e-7f)) == Approx(1.1920929e-7).epsilon(0.01));
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
  CHECK(from_half(to_half(1.0f + 0.00048828125f)) == 1.0f);
  CHECK(from_bfloat16(to_bfloat16(1.0f)) == 1.0f);
  CHECK(from_bfloat16(to_bfloat16(3.0e38f)) == Approx(3.0e38).epsilon(0.01));
  compressor c{method("fp16"), 2, 1};
  std::vector<float> big{1e6f, 1.0f};
  auto t = c.compress(span<const float>{big});
  REQUIRE(t);
  CHECK(has_code(validate(*t, "t"), errc::non_finite_value));
}

TEST_CASE("validation refuses bad indices, counts and levels",
          "[compression]") {
  std::vector<uint32_t> idx{1, 3};
  std::vector<float> vals{1, 2};
  encoded_tensor t;
  t.encoding = tensor_encoding::topk;
  t.numel = 4;
  t.sparse.push_back({0, span<const uint32_t>{idx}, span<const float>{vals}});
  CHECK(!validate(t, "t"));
  idx = {3, 1}; // not increasing
  CHECK(has_code(validate(t, "t"), errc::invalid_field));
  idx = {1, 4}; // out of range
  CHECK(has_code(validate(t, "t"), errc::invalid_field));
  idx = {1, 1}; // duplicate
  CHECK(has_code(validate(t, "t"), errc::invalid_field));
  std::vector<float> one{1};
  t.sparse[0].values = span<const float>{one}; // counts differ
  CHECK(has_code(validate(t, "t"), errc::size_mismatch));

  std::vector<float> norms{1.0f};
  std::vector<uint8_t> codes{1, 2, 0x81, 0}; // 0x81 = -127
  encoded_tensor q;
  q.encoding = tensor_encoding::qsgd;
  q.numel = 4;
  q.qsgd = {127, 8, 4, span<const float>{norms}, span<const uint8_t>{codes}};
  CHECK(!validate(q, "q"));
  codes[2] = 0x80; // -128: beyond 127 levels
  CHECK(has_code(validate(q, "q"), errc::invalid_field));
  codes[2] = 0;
  q.qsgd.levels = 200;
  CHECK(has_code(validate(q, "q"), errc::invalid_field));
  q.qsgd.levels = 127;
  q.qsgd.bits = 5;
  CHECK(has_code(validate(q, "q"), errc::invalid_field));
  q.qsgd.bits = 4; // 4-bit codes allow at most 7 levels
  CHECK(has_code(validate(q, "q"), errc::invalid_field));
  q.qsgd.levels = 7; // and 4 values take 2 bytes, not 4
  CHECK(has_code(validate(q, "q"), errc::size_mismatch));
  q.qsgd.bits = 8;
  q.qsgd.levels = 127;
  norms[0] = -1;
  CHECK(has_code(validate(q, "q"), errc::invalid_field));
}

TEST_CASE("compression settings are validated", "[compression]") {
  CHECK(!validate(method("none")));
  CHECK(has_code(validate(method("zip")), errc::invalid_config));
  auto s = method("topk");
  s.topk_ratio = 0;
  CHECK(has_code(validate(s), errc::invalid_config));
  s = method("qsgd");
  s.qsgd_bits = 3;
  CHECK(has_code(validate(s), errc::invalid_config));
  s = method("topk");
  s.momentum = 0.9;
  s.error_feedback = false;
  CHECK(has_code(validate(s), errc::invalid_config));
}
