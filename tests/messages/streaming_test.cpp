// Streamed models: an outbox reads pieces straight from the model under a
// window of unanswered pieces; an assembler writes them into one buffer.

#include "messages/chunking.hpp"
#include "messages/outbox.hpp"
#include "runtime/aggregation/aggregator.hpp"
#include "runtime/core/errors.hpp"
#include "support/wire_helpers.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <limits>

using namespace fl;
using fl::test::code_of;
using fl::test::share;

namespace {

std::vector<float> ramp(size_t n) {
  std::vector<float> xs(n);
  for (size_t i = 0; i < n; ++i)
    xs[i] = static_cast<float>(i % 1013) * 0.37f - 150.0f;
  return xs;
}

envelope update_of(const std::vector<float>& values, const model_layout& l) {
  update_msg up;
  up.node_id = "client-3";
  up.round = 2;
  up.base_version = 1;
  up.num_samples = 600;
  up.model.layout = l;
  up.model.values = span<const float>{values};
  return envelope{"", up};
}

send_settings small_pieces(size_t chunk_bytes, uint32_t window) {
  send_settings s;
  s.chunk_bytes = chunk_bytes;
  s.window = window;
  return s;
}

/// Moves everything `out` has to `in`, answering pieces as a receiving
/// connector does; returns the messages `in` completed.
std::vector<envelope> pump(outbox& out, frame_assembler& in,
                           size_t* frames_seen = nullptr) {
  std::vector<envelope> done;
  for (auto frames = out.take(); !frames.empty(); frames = out.take()) {
    for (auto& f : frames) {
      if (frames_seen)
        ++*frames_seen;
      auto r = in.feed(share(std::move(f)));
      REQUIRE(r);
      if (r->answer_pieces > 0)
        REQUIRE(!out.credit(r->answer_transfer, r->answer_pieces));
      if (r->message)
        done.push_back(std::move(*r->message));
    }
  }
  return done;
}

} // namespace

TEST_CASE("a streamed model arrives bit for bit as the whole message does",
          "[streaming]") {
  // Prepare: a 3-layer model of 100k values, 4 KiB pieces (98 pieces).
  auto layout = model_layout::make(
      {{"a.weight", {300, 200}}, {"a.bias", {300}}, {"b.weight", {39700}}});
  REQUIRE(layout);
  auto values = ramp(layout->numel());
  outbox out{small_pieces(4096, 3)};
  frame_assembler in;
  // Execute
  REQUIRE(!out.push(update_of(values, *layout)));
  size_t frames = 0;
  auto got = pump(out, in, &frames);
  auto whole = decode(share(encode(update_of(values, *layout))));
  // Assert
  REQUIRE(got.size() == 1);
  REQUIRE(whole);
  CHECK(frames == 1 + (layout->numel() * 4 + 4095) / 4096);
  const auto& a = std::get<update_msg>(got[0].body);
  const auto& b = std::get<update_msg>(whole->body);
  CHECK(a.node_id == b.node_id);
  CHECK(a.round == b.round);
  CHECK(a.num_samples == b.num_samples);
  CHECK(a.model.layout == b.model.layout);
  CHECK(a.model.stream_id == 0);
  REQUIRE(a.model.values.size() == b.model.values.size());
  CHECK(std::memcmp(a.model.values.data(), b.model.values.data(),
                    a.model.values.size_bytes())
        == 0);
  CHECK(reinterpret_cast<uintptr_t>(a.model.values.data()) % 64 == 0);
  CHECK(!in.in_progress());
  CHECK(out.unanswered_bytes() == 0);
}

TEST_CASE("folding a streamed update matches folding the whole message bit "
          "for bit",
          "[streaming]") {
  const size_t n = 50'000;
  std::vector<float> x1 = ramp(n), x2(n);
  for (size_t i = 0; i < n; ++i)
    x2[i] = std::sin(static_cast<float>(i)) * 3.0f;
  auto l = flat_layout(n);
  auto fold_both = [&](bool streamed) {
    auto agg = make_cpu_aggregator(2);
    REQUIRE(!agg->begin(l));
    for (const auto* xs : {&x1, &x2}) {
      envelope env;
      if (streamed) {
        outbox out{small_pieces(1024, 2)};
        frame_assembler in;
        REQUIRE(!out.push(update_of(*xs, l)));
        auto got = pump(out, in);
        REQUIRE(got.size() == 1);
        env = std::move(got[0]);
      } else {
        auto d = decode(share(encode(update_of(*xs, l))));
        REQUIRE(d);
        env = std::move(*d);
      }
      const auto& up = std::get<update_msg>(env.body);
      REQUIRE(!agg->fold(up.model.values, 0.5));
    }
    std::vector<float> mean(n);
    REQUIRE(!agg->finalize(span<float>{mean}));
    return mean;
  };
  auto a = fold_both(true);
  auto b = fold_both(false);
  CHECK(std::memcmp(a.data(), b.data(), n * sizeof(float)) == 0);
}

TEST_CASE("back-pressure: a sender holds at most its window of pieces",
          "[streaming]") {
  const size_t n = 1'000'000; // 4 MB in 64 KiB pieces: 62 pieces
  auto values = ramp(n);
  const size_t chunk = 64 << 10;
  outbox out{small_pieces(chunk, 4)};
  REQUIRE(!out.push(update_of(values, flat_layout(n))));
  // Nobody answers: the head and 4 pieces go, then nothing.
  auto first = out.take();
  CHECK(first.size() == 5);
  CHECK(out.take().empty());
  CHECK(out.unanswered_bytes() == 4 * chunk);
  size_t buffered = 0;
  for (auto& f : first)
    buffered += f.size();
  CHECK(buffered <= 4 * (chunk + 128) + 4096);
  // A message queued behind the model waits; a heartbeat does not.
  REQUIRE(
      !out.push(envelope{"", eval_result_msg{"client-3", 2, 10, 0.5, 0.5}}));
  REQUIRE(!out.push(envelope{"", heartbeat_msg{"client-3", 99}}));
  auto now = out.take();
  REQUIRE(now.size() == 1);
  auto hb = decode(share(std::move(now[0])));
  REQUIRE(hb);
  CHECK(std::holds_alternative<heartbeat_msg>(hb->body));
  // Each answer lets exactly one more piece go.
  auto d = decode_frame(share(first[1]));
  REQUIRE(d);
  const auto id = std::get<tensor_data_view>(*d).transfer_id;
  REQUIRE(!out.credit(id, 1));
  CHECK(out.take().size() == 1);
  CHECK(out.unanswered_bytes() == 4 * chunk);
  // A peer cannot open the window beyond what was sent.
  CHECK(code_of(out.credit(id, 5)) == errc::invalid_field);
  CHECK(code_of(out.credit(id + 1, 1)) == errc::invalid_field);
  // Answering the rest lets the model finish; the queued message goes last.
  std::vector<byte_buffer> rest;
  for (uint32_t k = 0; k < 62; ++k) {
    if (out.unanswered_bytes() > 0)
      REQUIRE(!out.credit(id, 1));
    for (auto& f : out.take())
      rest.push_back(std::move(f));
    CHECK(out.unanswered_bytes() <= 4 * chunk);
  }
  REQUIRE(!rest.empty());
  auto last = decode(share(std::move(rest.back())));
  REQUIRE(last);
  CHECK(std::holds_alternative<eval_result_msg>(last->body));
  CHECK(out.queued() == 0);
}

TEST_CASE("pieces in tiny frames: more than 2^16 of them", "[streaming]") {
  // A transfer's piece count is 32-bit, its offsets 64-bit: 70k pieces of
  // 16 values stand in for a model above 4 GiB in default-size pieces.
  const size_t n = 70'000 * 16 + 5;
  auto values = ramp(n);
  outbox out{small_pieces(64, 64)};
  frame_assembler in;
  REQUIRE(!out.push(update_of(values, flat_layout(n))));
  size_t frames = 0;
  auto got = pump(out, in, &frames);
  REQUIRE(got.size() == 1);
  CHECK(frames == 1 + 70'001);
  const auto& m = std::get<update_msg>(got[0].body).model;
  REQUIRE(m.values.size() == n);
  CHECK(std::memcmp(m.values.data(), values.data(), n * 4) == 0);
}

TEST_CASE("the size limit is enforced on both sides with a clear error",
          "[streaming]") {
  const size_t n = 300'000; // 1.2 MB
  auto values = ramp(n);
  SECTION("the sender refuses a model above its limit; nothing is queued") {
    send_settings s = small_pieces(4096, 4);
    s.max_message_bytes = 1 << 20;
    outbox out{s};
    auto err = out.push(update_of(values, flat_layout(n)));
    REQUIRE(err);
    CHECK(code_of(err) == errc::too_large);
    CHECK_THAT(describe(err), Catch::Contains("exceeds the message limit"));
    CHECK(out.queued() == 0);
    CHECK(out.take().empty());
  }
  SECTION("the receiver refuses the head before allocating anything") {
    outbox out{small_pieces(4096, 4)};
    REQUIRE(!out.push(update_of(values, flat_layout(n))));
    auto frames = out.take();
    decode_limits limits;
    limits.max_message_bytes = 1 << 20;
    bool released = false;
    auto budget = std::make_shared<receive_budget>(0, [&] { released = true; });
    frame_assembler in{limits, budget};
    auto r = in.feed(share(std::move(frames[0])));
    REQUIRE(!r);
    CHECK(code_of(r.error()) == errc::too_large);
    CHECK(budget->in_use() == 0);
    CHECK(!released);
    // Its pieces then belong to no transfer.
    auto p = in.feed(share(std::move(frames[1])));
    REQUIRE(!p);
    CHECK(code_of(p.error()) == errc::unexpected_message);
  }
}

TEST_CASE("broken piece streams are refused and the assembler recovers",
          "[streaming]") {
  const size_t n = 10'000; // 40 KB in 4 KiB pieces: a head and 10 pieces
  auto values = ramp(n);
  auto frames_of = [&] {
    outbox out{small_pieces(4096, 64)};
    REQUIRE(!out.push(update_of(values, flat_layout(n))));
    return out.take();
  };
  auto frames = frames_of();
  REQUIRE(frames.size() == 11);
  frame_assembler in;
  auto feed = [&](size_t k) { return in.feed(share(frames[k])); };
  SECTION("out of order") {
    REQUIRE(feed(0));
    REQUIRE(feed(1));
    CHECK(code_of(feed(3).error()) == errc::chunk_out_of_order);
  }
  SECTION("duplicate") {
    REQUIRE(feed(0));
    REQUIRE(feed(1));
    CHECK(code_of(feed(1).error()) == errc::chunk_duplicate);
  }
  SECTION("a piece without its head") {
    CHECK(code_of(feed(1).error()) == errc::unexpected_message);
  }
  SECTION("a second head before the first model ended") {
    REQUIRE(feed(0));
    REQUIRE(feed(1));
    CHECK(code_of(feed(0).error()) == errc::unexpected_message);
  }
  SECTION("corrupt values fail the checksum") {
    auto bad = frames[2];
    bad[bad.size() - 100] ^= 0x20;
    REQUIRE(feed(0));
    REQUIRE(feed(1));
    auto r = in.feed(share(bad));
    CHECK(code_of(r.error()) == errc::checksum_mismatch);
  }
  SECTION("NaN values are refused, even with a matching checksum") {
    std::vector<float> poisoned = values;
    poisoned[5000] = std::numeric_limits<float>::quiet_NaN();
    outbox out{small_pieces(4096, 64)};
    REQUIRE(!out.push(update_of(poisoned, flat_layout(n))));
    auto fs = out.take();
    for (size_t k = 0; k < 5; ++k)
      REQUIRE(in.feed(share(fs[k])));
    auto r = in.feed(share(fs[5]));
    CHECK(code_of(r.error()) == errc::non_finite_value);
  }
  SECTION("a piece that does not continue where the last ended") {
    REQUIRE(feed(0));
    REQUIRE(feed(1));
    // Piece 1 of another transfer's framing: same index, other offset.
    auto shifted = encode_tensor_data(
        std::get<tensor_data_view>(*decode_frame(share(frames[1]))).transfer_id,
        1, 10, 999, span<const float>{values.data(), 16});
    CHECK(code_of(in.feed(share(shifted)).error()) == errc::size_mismatch);
  }
  SECTION("pieces that end early") {
    REQUIRE(feed(0));
    auto id = std::get<tensor_data_view>(*decode_frame(share(frames[1])))
                  .transfer_id;
    auto last
        = encode_tensor_data(id, 0, 1, 0, span<const float>{values.data(), 16});
    CHECK(code_of(in.feed(share(last)).error()) == errc::size_mismatch);
  }
  SECTION("abandon reports the values that never came") {
    REQUIRE(feed(0));
    REQUIRE(feed(1));
    auto err = in.abandon();
    CHECK(code_of(err) == errc::chunk_missing);
    CHECK_THAT(describe(err), Catch::Contains("1024 of 10000 values"));
  }
  // After any of these, a complete transfer goes through.
  in.abandon();
  auto again = frames_of();
  std::optional<envelope> done;
  for (auto& f : again) {
    auto r = in.feed(share(std::move(f)));
    REQUIRE(r);
    if (r->message)
      done = std::move(r->message);
  }
  REQUIRE(done);
  CHECK(std::get<update_msg>(done->body).model.values.size() == n);
}

TEST_CASE("the receive budget holds a transfer back until memory is released",
          "[streaming]") {
  // Prepare: two peers each stream a 400 KB model into a 600 KB budget.
  const size_t n = 100'000;
  auto values = ramp(n);
  int releases = 0;
  auto budget = std::make_shared<receive_budget>(600'000, [&] { ++releases; });
  frame_assembler a{decode_limits{}, budget}, b{decode_limits{}, budget};
  outbox oa{small_pieces(64 << 10, 2)}, ob{small_pieces(64 << 10, 2)};
  REQUIRE(!oa.push(update_of(values, flat_layout(n))));
  REQUIRE(!ob.push(update_of(values, flat_layout(n))));
  // Execute: a gets its buffer; b's head and window wait, unanswered.
  auto got_a = pump(oa, a);
  REQUIRE(got_a.size() == 1);
  CHECK(budget->in_use() == n * 4);
  auto fb = ob.take();
  REQUIRE(fb.size() == 3);
  for (auto& f : fb) {
    auto r = b.feed(share(std::move(f)));
    REQUIRE(r);
    CHECK(r->answer_pieces == 0);
    CHECK(!r->message);
  }
  CHECK(b.waiting());
  CHECK(ob.take().empty()); // the sender stopped at its window
  auto still = b.resume();
  REQUIRE(still);
  CHECK(still->answer_pieces == 0);
  // a's update is folded and dropped: its buffer goes back to the budget.
  got_a.clear();
  CHECK(releases == 1);
  CHECK(budget->in_use() == 0);
  auto r = b.resume();
  REQUIRE(r);
  CHECK(r->answer_pieces == 2);
  CHECK(!b.waiting());
  REQUIRE(!ob.credit(r->answer_transfer, r->answer_pieces));
  auto got_b = pump(ob, b);
  REQUIRE(got_b.size() == 1);
  const auto& m = std::get<update_msg>(got_b[0].body).model;
  CHECK(std::memcmp(m.values.data(), values.data(), n * 4) == 0);
}

TEST_CASE("a peer that ignores its window is cut off while waiting",
          "[streaming]") {
  const size_t n = 100'000;
  auto values = ramp(n);
  auto budget = std::make_shared<receive_budget>(1, [] {});
  auto hold = budget->try_allocate(16); // the budget is taken
  REQUIRE(hold);
  decode_limits limits;
  limits.max_held_bytes = 3 * 4096;
  frame_assembler in{limits, budget};
  outbox out{small_pieces(4096, 64)};
  REQUIRE(!out.push(update_of(values, flat_layout(n))));
  auto frames = out.take();
  REQUIRE(in.feed(share(frames[0])));
  for (size_t k = 1; k <= 3; ++k)
    REQUIRE(in.feed(share(frames[k])));
  auto r = in.feed(share(frames[4]));
  REQUIRE(!r);
  CHECK(code_of(r.error()) == errc::unexpected_message);
  CHECK(!in.in_progress());
}

TEST_CASE("a model above 4 GiB with a layer above 2^32 bytes streams through",
          "[.big][streaming]") {
  // 1.2e9 values in a 1.1e9-value layer: 4.8 GB. Needs about 10 GB.
  const uint64_t big = 1'100'000'000, small = 100'000'000;
  auto layout = model_layout::make({{"huge", {static_cast<int64_t>(big)}},
                                    {"rest", {static_cast<int64_t>(small)}}});
  REQUIRE(layout);
  const uint64_t n = layout->numel();
  std::vector<float> values(n);
  for (uint64_t i = 0; i < n; i += 1 << 20)
    values[i] = static_cast<float>(i >> 20);
  values[n - 1] = 7.0f;
  outbox out{send_settings{}};
  frame_assembler in;
  REQUIRE(!out.push(update_of(values, *layout)));
  auto got = pump(out, in);
  REQUIRE(got.size() == 1);
  const auto& m = std::get<update_msg>(got[0].body).model;
  REQUIRE(m.values.size() == n);
  CHECK(m.values[n - 1] == 7.0f);
  CHECK(std::memcmp(m.values.data(), values.data(), n * 4) == 0);
}

TEST_CASE("a released buffer is reused within the budget, never beyond it",
          "[streaming]") {
  auto budget = std::make_shared<receive_budget>(1000, nullptr, 2);
  auto a = budget->try_allocate(100); // 400 bytes
  REQUIRE(a);
  const float* first = a.get();
  a.reset();
  CHECK(budget->in_use() == 0);
  auto b = budget->try_allocate(100);
  REQUIRE(b);
  CHECK(b.get() == first); // the same memory, no new pages
  auto c = budget->try_allocate(100);
  REQUIRE(c);
  CHECK(budget->in_use() == 800);
  CHECK(!budget->try_allocate(100)); // 1200 > 1000: wait
  // Both kept (800 <= 1000) and both reused.
  const float* second = c.get();
  b.reset();
  c.reset();
  auto d = budget->try_allocate(100);
  auto e = budget->try_allocate(100);
  REQUIRE(d);
  REQUIRE(e);
  CHECK(((d.get() == first && e.get() == second)
         || (d.get() == second && e.get() == first)));
  CHECK(budget->in_use() == 800);
}

TEST_CASE("messages sent after a model on the bulk link arrive after it",
          "[streaming]") {
  // Prepare: a sender with a bulk link; what it hands the link is kept.
  const size_t n = 10'000;
  auto values = ramp(n);
  outbox out{small_pieces(4096, 4)};
  std::vector<std::pair<uint64_t, span<const float>>> on_link;
  out.use_bulk([&](uint64_t id, span<const float> xs,
                   std::shared_ptr<const void>) {
    on_link.emplace_back(id, xs);
  });
  REQUIRE(!out.push(update_of(values, flat_layout(n))));
  REQUIRE(!out.push(envelope{"", request_msg{"client-3"}}));
  REQUIRE(!out.push(envelope{"", heartbeat_msg{"client-3", 1}}));
  auto frames = out.take();
  REQUIRE(frames.size() == 3); // heartbeat, bulk head, request
  REQUIRE(on_link.size() == 1);
  // Execute: the receiver gets the frames before the values.
  frame_assembler in;
  std::vector<std::string> seen;
  auto note = [&](caf::expected<assembled>& r) {
    REQUIRE(r);
    if (r->message)
      seen.push_back(message_name(r->message->body));
    for (auto& e : r->more)
      seen.push_back(message_name(e.body));
  };
  for (auto& f : frames) {
    auto r = in.feed(share(std::move(f)));
    note(r);
  }
  // Assert: only the heartbeat passed; the request waits for the update.
  CHECK(seen == std::vector<std::string>{"heartbeat"});
  auto copy = allocate_floats(n);
  std::memcpy(copy.get(), on_link[0].second.data(), n * sizeof(float));
  auto r = in.bulk_arrived(on_link[0].first, copy, n);
  note(r);
  CHECK(seen == std::vector<std::string>{"heartbeat", "update", "request"});
  CHECK(std::get<update_msg>(r->message->body).model.values.data()
        == copy.get());
  SECTION("values that do not fit their head are refused") {
    REQUIRE(!out.push(update_of(values, flat_layout(n))));
    out.bulk_sent();
    auto more = out.take();
    REQUIRE(more.size() == 1);
    REQUIRE(in.feed(share(std::move(more[0]))));
    auto bad = in.bulk_arrived(on_link.back().first, allocate_floats(5), 5);
    REQUIRE(!bad);
    CHECK(code_of(bad.error()) == errc::size_mismatch);
  }
}
