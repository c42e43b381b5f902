#include <catch2/catch.hpp>

#include "messages/chunking.hpp"
#include "runtime/core/errors.hpp"
#include "support/wire_helpers.hpp"

using namespace fl;
using fl::test::code_of;
using fl::test::share;

namespace {

std::vector<byte_buffer> model_frames(const std::vector<float>& values,
                                      size_t chunk, uint64_t transfer) {
  tensor t;
  t.layout = flat_layout(values.size());
  t.values = span<const float>{values};
  return encode_frames(envelope{"c1", model_msg{5, t, {}}}, chunk, transfer);
}

} // namespace

TEST_CASE("a model in chunks is reassembled", "[chunking]") {
  std::vector<float> values(10000);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<float>(i);
  auto frames = model_frames(values, 4096, 1);
  REQUIRE(frames.size() == 10); // 40 KB model in 4 KiB pieces
  frame_assembler fa;
  for (size_t i = 0; i + 1 < frames.size(); ++i) {
    auto r = fa.feed(share(frames[i]));
    REQUIRE(r);
    CHECK(!r->message);
    CHECK(fa.in_progress());
  }
  auto r = fa.feed(share(frames.back()));
  REQUIRE(r);
  REQUIRE(r->message);
  CHECK(!fa.in_progress());
  auto& m = std::get<model_msg>(r->message->body);
  CHECK(m.model_version == 5);
  REQUIRE(m.model.values.size() == values.size());
  CHECK(std::equal(values.begin(), values.end(), m.model.values.begin()));
}

TEST_CASE("broken chunk streams are rejected", "[chunking]") {
  std::vector<float> values(10000, 0.25f);
  auto frames = model_frames(values, 4096, 1);
  frame_assembler fa;
  SECTION("out of order") {
    REQUIRE(fa.feed(share(frames[0])));
    auto r = fa.feed(share(frames[2]));
    CHECK(code_of(r.error()) == errc::chunk_out_of_order);
  }
  SECTION("duplicate") {
    REQUIRE(fa.feed(share(frames[0])));
    REQUIRE(fa.feed(share(frames[1])));
    auto r = fa.feed(share(frames[1]));
    CHECK(code_of(r.error()) == errc::chunk_duplicate);
  }
  SECTION("missing first chunk") {
    auto r = fa.feed(share(frames[1]));
    CHECK(code_of(r.error()) == errc::chunk_missing);
  }
  SECTION("missing tail: the next transfer starts") {
    for (size_t i = 0; i + 1 < frames.size(); ++i)
      REQUIRE(fa.feed(share(frames[i])));
    auto next = model_frames(values, 4096, 2);
    auto r = fa.feed(share(next[0]));
    CHECK(code_of(r.error()) == errc::chunk_missing);
    // The assembler recovers: the next complete transfer goes through.
    frame_assembler fresh;
    for (size_t i = 0; i + 1 < next.size(); ++i)
      REQUIRE(fresh.feed(share(next[i])));
    auto done = fresh.feed(share(next.back()));
    REQUIRE(done);
    CHECK(done->message);
  }
  SECTION("abandon reports the missing chunks") {
    REQUIRE(fa.feed(share(frames[0])));
    CHECK(code_of(fa.abandon()) == errc::chunk_missing);
    CHECK(!fa.in_progress());
    CHECK(!fa.abandon());
  }
  SECTION("corrupt chunk data fails its checksum") {
    auto bad = frames[3];
    bad[bad.size() / 2] ^= 0x5a;
    for (size_t i = 0; i < 3; ++i)
      REQUIRE(fa.feed(share(frames[i])));
    auto r = fa.feed(share(bad));
    CHECK(code_of(r.error()) == errc::checksum_mismatch);
  }
  SECTION("a transfer above the limit is refused up front") {
    frame_assembler small{decode_limits{16 * 1024, 4096, 1024}};
    auto r = small.feed(share(frames[0]));
    CHECK(code_of(r.error()) == errc::too_large);
  }
}

TEST_CASE("a 300 MB model travels in 64 MiB chunks", "[chunking][large]") {
  // Prepare: 75M floats = 300 MB.
  const size_t n = 75'000'000;
  std::vector<float> values(n);
  for (size_t i = 0; i < n; i += 4096)
    values[i] = static_cast<float>(i % 977);
  values[n - 1] = 42.0f;
  // Execute
  auto frames = model_frames(values, size_t{64} << 20, 77);
  CHECK(frames.size() == 5);
  for (const auto& f : frames)
    CHECK(f.size() <= (size_t{64} << 20) + 4096);
  frame_assembler fa;
  std::optional<envelope> env;
  for (auto& f : frames) {
    auto r = fa.feed(std::make_shared<const byte_buffer>(std::move(f)));
    REQUIRE(r);
    if (r->message)
      env = std::move(r->message);
  }
  // Assert
  REQUIRE(env);
  auto& m = std::get<model_msg>(env->body);
  REQUIRE(m.model.values.size() == n);
  CHECK(m.model.values[n - 1] == 42.0f);
  CHECK(std::memcmp(m.model.values.data(), values.data(), n * 4) == 0);
}
