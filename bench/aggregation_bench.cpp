#include "bench/aggregation_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "runtime/aggregation/aggregate.hpp"
#include "runtime/aggregation/aggregator.hpp"
#include "runtime/aggregation/cuda/cuda_figures.hpp"
#include "runtime/core/errors.hpp"

namespace fl::bench {

namespace {

using clk = std::chrono::steady_clock;

double seconds_since(clk::time_point t) {
  return std::chrono::duration<double>(clk::now() - t).count();
}

void cpu_rows(const aggregation_bench_options& opts) {
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  std::printf("CPU: the exact fold (acc += round(w * x * 2^39) into int64: "
              "reads 4+8, writes 8 bytes per value, 5 bytes of traffic per "
              "update byte) next to the float fold it replaced (acc += w * x "
              "in float, arrival-order dependent: 3 bytes per update byte); "
              "memcpy moves 2.\n"
              "upd/copy: update bytes folded per second over bytes copied "
              "per second; traffic/copy: memory traffic over memcpy's.\n");
  std::printf("%-18s %10s %5s %12s %10s %12s %10s %12s\n", "setting",
              "floats", "K", "ms/update", "GB/s upd", "GB/s traffic",
              "upd/copy", "traffic/copy");
  for (double size : opts.sizes) {
    const auto n = static_cast<size_t>(size);
    std::vector<float> x(n, 0.25f), dst(n, 0.0f);
    model_layout layout = flat_layout(n);
    for (size_t threads : {size_t{1}, cores}) {
      if (threads == 1 && cores == 1)
        continue;
      // memcpy of the same bytes on as many threads, warm, best of 5: the
      // bandwidth limit this setting can reach.
      double t_copy = 1e30;
      for (int r = 0; r < 5; ++r) {
        auto t0 = clk::now();
        std::vector<std::thread> ts;
        const size_t per = (n + threads - 1) / threads;
        for (size_t t = 0; t < threads; ++t) {
          const size_t first = std::min(n, t * per);
          const size_t count = std::min(per, n - first);
          ts.emplace_back([&, first, count] {
            std::memcpy(dst.data() + first, x.data() + first,
                        count * sizeof(float));
          });
        }
        for (auto& t : ts)
          t.join();
        t_copy = std::min(t_copy, seconds_since(t0));
      }
      const double copy_traffic = 2.0 * static_cast<double>(n) * 4 / t_copy;
      std::printf("%-18s %10.0e %5s %12.3f %10.2f %12.2f\n",
                  ("memcpy x" + std::to_string(threads)).c_str(), size, "",
                  t_copy * 1e3, static_cast<double>(n) * 4 / t_copy / 1e9,
                  copy_traffic / 1e9);
      auto row = [&](const std::string& label, int k, double per,
                     double traffic_per_byte) {
        const double upd = static_cast<double>(n) * 4 / per;
        std::printf("%-18s %10.0e %5d %12.3f %10.2f %12.2f %9.0f%% %11.0f%%\n",
                    label.c_str(), size, k, per * 1e3, upd / 1e9,
                    traffic_per_byte * upd / 1e9,
                    100 * upd / (copy_traffic / 2),
                    100 * traffic_per_byte * upd / copy_traffic);
      };
      auto agg = make_cpu_aggregator(threads);
      for (int k : opts.ks) {
        const double w = 1.0 / k; // weights of one sum are normalised
        agg->begin(layout);
        agg->fold(span<const float>{x}, w); // warm the accumulator
        agg->begin(layout);
        auto t0 = clk::now();
        for (int i = 0; i < k; ++i)
          agg->fold(span<const float>{x}, w);
        row(agg->name() + " exact", k, seconds_since(t0) / k, 5);
      }
      if (threads == 1) {
        std::vector<float> acc(n, 0.0f);
        for (int k : opts.ks) {
          auto t0 = clk::now();
          for (int i = 0; i < k; ++i)
            weighted_accumulate(span<float>{acc}, span<const float>{x},
                                1.0 / k);
          row("float fold x1", k, seconds_since(t0) / k, 3);
        }
      }
    }
  }
}

void cuda_rows(const aggregation_bench_options& opts) {
  std::printf("\nGPU: fold of device-resident updates vs device-to-device "
              "copy; host-resident updates vs pinned host-to-device copy.\n");
  std::printf("%-30s %10s %5s %12s %10s %10s %12s %10s\n", "setting",
              "floats", "K", "dev GB/s", "of d2d", "host ms", "host GB/s",
              "of h2d");
  for (auto strategy :
       {bucket_strategy::layer_by_layer, bucket_strategy::bucket_flatten,
        bucket_strategy::bucket_coalesced, bucket_strategy::size_balanced}) {
    for (uint32_t streams : {1u, 4u}) {
      for (double size : opts.sizes) {
        for (int k : opts.ks) {
          aggregator_options o;
          o.strategy = strategy;
          o.streams = streams;
          auto fig = measure_cuda(o, static_cast<size_t>(size), k);
          auto label = to_string(strategy) + " x" + std::to_string(streams);
          if (!fig) {
            std::printf("%-30s not run: %s\n", label.c_str(),
                        describe(fig.error()).c_str());
            return;
          }
          std::printf("%-30s %10.0e %5d %12.1f %9.0f%% %10.3f %12.2f %9.0f%%\n",
                      label.c_str(), size, k, fig->fold_device_gbps,
                      100 * fig->fold_device_gbps / fig->d2d_gbps,
                      fig->fold_host_ms, fig->fold_host_gbps,
                      100 * fig->fold_host_gbps / fig->h2d_gbps);
        }
      }
    }
  }
}

} // namespace

int run_aggregation_bench(const aggregation_bench_options& opts) {
  if (opts.device == "cpu" || opts.device == "all")
    cpu_rows(opts);
  if (opts.device == "cuda" || opts.device == "all")
    cuda_rows(opts);
  return 0;
}

} // namespace fl::bench
