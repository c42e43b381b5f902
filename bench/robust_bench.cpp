#include "bench/robust_bench.hpp"

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "runtime/aggregation/aggregator.hpp"
#include "runtime/aggregation/robust.hpp"
#include "runtime/compression/compressor.hpp"
#include "runtime/core/model_layout.hpp"

namespace fl::bench {

namespace {

using clk = std::chrono::steady_clock;

double seconds_since(clk::time_point t) {
  return std::chrono::duration<double>(clk::now() - t).count();
}

/// Best of three runs of f, in seconds.
template <class F>
double best_of_3(F f) {
  double best = 1e30;
  for (int r = 0; r < 3; ++r) {
    auto t0 = clk::now();
    f();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

void row(const char* what, size_t n, int k, double seconds, double bytes) {
  std::printf("%-26s %10.0e %4d %12.2f %10.3f\n", what, static_cast<double>(n),
              k, seconds * 1e3, bytes / seconds / 1e9);
}

} // namespace

int run_robust_bench(const robust_bench_options& opts) {
  std::printf("Combining K updates: GB/s of update bytes (K x model x 4 B) "
              "per second; the fold and Krum on one thread, median and "
              "trimmed mean on %u.\n",
              std::max(1u, std::thread::hardware_concurrency()));
  std::printf("%-26s %10s %4s %12s %10s\n", "rule", "floats", "K", "ms/round",
              "GB/s");
  const auto k = static_cast<size_t>(std::max(opts.k, 3));
  for (double size : opts.sizes) {
    const auto n = static_cast<size_t>(size);
    std::mt19937 rng{1};
    std::normal_distribution<float> dist{0, 0.1f};
    std::vector<std::vector<float>> ups(k, std::vector<float>(n));
    for (auto& u : ups)
      for (auto& x : u)
        x = dist(rng);
    std::vector<span<const float>> xs;
    std::vector<double> ws(k, 1.0);
    for (auto& u : ups)
      xs.emplace_back(u);
    std::vector<float> out(n);
    const double bytes = static_cast<double>(k * n * sizeof(float));
    model_layout layout;
    layout.add("w", {static_cast<int64_t>(n)});
    auto agg = make_cpu_aggregator(1);
    row("fedavg fold (exact, 1 thr)", n, static_cast<int>(k),
        best_of_3([&] {
          (void) agg->begin(layout);
          for (auto& x : xs)
            (void) agg->fold(x, 1.0 / static_cast<double>(k));
          (void) agg->finalize(span<float>{out});
        }),
        bytes);
    robust_settings s;
    for (auto rule : {combine_rule::median, combine_rule::trimmed_mean,
                      combine_rule::krum, combine_rule::multi_krum}) {
      s.rule = rule;
      s.trim_beta = 0.2;
      s.krum_f = 2;
      const auto name = to_string(rule);
      row(name.c_str(), n, static_cast<int>(k),
          best_of_3([&] { (void) robust_combine(s, xs, ws, span<float>{out}); }),
          bytes);
    }
  }
  std::printf("\nCompressing one update (with error feedback) and decoding "
              "it block by block: GB/s of dense update bytes; wire bytes as "
              "a share of dense.\n");
  std::printf("%-26s %10s %12s %12s %10s\n", "method", "floats",
              "encode GB/s", "decode GB/s", "wire");
  const auto n = static_cast<size_t>(opts.sizes.front());
  std::mt19937 rng{2};
  std::normal_distribution<float> dist{0, 0.1f};
  std::vector<float> delta(n);
  for (auto& x : delta)
    x = dist(rng);
  const double bytes = static_cast<double>(n * sizeof(float));
  struct method {
    const char* label;
    compression_settings s;
  };
  std::vector<method> methods(5);
  methods[0] = {"topk 1%", {}};
  methods[0].s.method = "topk";
  methods[1] = {"topk 10%", {}};
  methods[1].s.method = "topk";
  methods[1].s.topk_ratio = 0.1;
  methods[2] = {"qsgd 8 bit", {}};
  methods[2].s.method = "qsgd";
  methods[3] = {"qsgd 4 bit", {}};
  methods[3].s.method = "qsgd";
  methods[3].s.qsgd_bits = 4;
  methods[4] = {"fp16", {}};
  methods[4].s.method = "fp16";
  for (auto& m : methods) {
    compressor c{m.s, n, 7};
    encoded_tensor t;
    const double enc = best_of_3([&] { t = *c.compress(span<const float>{delta}); });
    double sink = 0;
    const double dec = best_of_3([&] {
      for_each_block(t, 1u << 16, [&](uint64_t, span<const float> xs) {
        sink += xs[0];
      });
    });
    std::printf("%-26s %10.0e %12.3f %12.3f %9.2f%%%s\n", m.label,
                static_cast<double>(n), bytes / enc / 1e9, bytes / dec / 1e9,
                100.0 * static_cast<double>(payload_bytes(t)) / bytes,
                sink == 12345.0 ? " " : "");
  }
  return 0;
}

} // namespace fl::bench
