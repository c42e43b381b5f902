#include "bench/codec_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include "messages/chunking.hpp"
#include "messages/codec.hpp"
#include "messages/outbox.hpp"
#include "runtime/aggregation/aggregate.hpp"

namespace fl::bench {

namespace {

using clk = std::chrono::steady_clock;

template <class F>
double best_seconds(int repeats, F&& f) {
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = clk::now();
    f();
    best = std::min(best,
                    std::chrono::duration<double>(clk::now() - t0).count());
  }
  return best;
}

double gbps(size_t bytes, double s) {
  return static_cast<double>(bytes) / s / 1e9;
}

} // namespace

int run_codec_bench(const codec_bench_options& opts) {
  std::printf("codec: encode = model -> frames (streamed pieces, each "
              "decoded once for its credit), decode = frames -> validated "
              "model (pieces written in place, NaN/Inf checked)\n");
  std::printf("%10s %8s %12s %12s %12s %12s\n", "model", "frames",
              "encode ms", "encode GB/s", "decode ms", "decode GB/s");
  const size_t chunk = opts.chunk_mib << 20;
  for (auto mib : opts.sizes_mib) {
    const size_t n = (mib << 20) / sizeof(float);
    std::vector<float> values(n);
    for (size_t i = 0; i < n; ++i)
      values[i] = static_cast<float>(i % 1000) * 0.001f;
    update_msg up;
    up.node_id = "bench";
    up.round = 1;
    up.num_samples = 1;
    up.model.layout = flat_layout(n);
    up.model.values = span<const float>{values};
    envelope env{"", up};
    // The streamed path as a connector runs it: an outbox reads pieces
    // straight from the model (the receiver's credits answered at once),
    // an assembler writes them into one destination buffer.
    send_settings ss;
    ss.chunk_bytes = chunk;
    std::vector<byte_buffer> frames;
    auto enc = best_seconds(opts.repeats, [&] {
      frames.clear();
      outbox out{ss};
      if (out.push(env))
        return;
      for (auto more = out.take(); !more.empty(); more = out.take())
        for (auto& f : more) {
          auto d = decode_frame(std::shared_ptr<const byte_buffer>(
            std::shared_ptr<void>{}, &f));
          if (d)
            if (auto* p = std::get_if<tensor_data_view>(&*d))
              (void) out.credit(p->transfer_id, 1);
          frames.push_back(std::move(f));
        }
    });
    size_t checked = 0;
    auto dec = best_seconds(opts.repeats, [&] {
      frame_assembler fa;
      for (auto& f : frames) {
        // Share instead of copying, to time decoding alone.
        auto res = fa.feed(std::shared_ptr<const byte_buffer>(
          std::shared_ptr<void>{}, &f));
        if (res && res->message)
          checked
            = std::get<update_msg>(res->message->body).model.values.size();
      }
    });
    if (checked != n) {
      std::printf("decode failed for %zu MiB\n", mib);
      return 1;
    }
    std::printf("%7zu MiB %8zu %12.1f %12.2f %12.1f %12.2f\n", mib,
                frames.size(), enc * 1e3, gbps(n * 4, enc), dec * 1e3,
                gbps(n * 4, dec));
  }
  // Weighted accumulate vs memcpy of the same update bytes, warm buffers.
  const size_t n = (size_t{256} << 20) / sizeof(float);
  std::vector<float> x(n, 0.5f), acc(n, 0.0f), dst(n, 0.0f);
  auto t_memcpy = best_seconds(opts.repeats + 2, [&] {
    std::memcpy(dst.data(), x.data(), n * sizeof(float));
  });
  auto t_acc = best_seconds(opts.repeats + 2, [&] {
    weighted_accumulate(span<float>{acc}, span<const float>{x}, 0.25);
  });
  std::printf("\naccumulate (acc += w * x) over %zu MiB of updates:\n",
              n * sizeof(float) >> 20);
  std::printf("  memcpy      %8.2f ms  %6.2f GB/s\n", t_memcpy * 1e3,
              gbps(n * 4, t_memcpy));
  std::printf("  accumulate  %8.2f ms  %6.2f GB/s\n", t_acc * 1e3,
              gbps(n * 4, t_acc));
  std::printf("  accumulate / memcpy bandwidth: %.2f\n", t_memcpy / t_acc);
  return 0;
}

} // namespace fl::bench
