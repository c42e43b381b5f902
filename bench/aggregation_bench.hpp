#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace fl::bench {

struct aggregation_bench_options {
  std::vector<double> sizes = {1e6, 1e7, 1e8}; ///< model sizes, floats
  std::vector<int> ks = {10, 100};             ///< updates folded per run
  std::string device = "all";                  ///< cpu | cuda | all
};

/// Like xFFL's benchmark_aggregation: for each device/strategy/streams
/// setting, model size and K, prints the time per folded update, GB/s and
/// the fraction of the bandwidth limit measured in the same run (memcpy on
/// the CPU; device-to-device copy and host-to-device copy on the GPU).
/// Returns 0; GPU rows say why when no GPU is usable.
int run_aggregation_bench(const aggregation_bench_options& opts);

} // namespace fl::bench
