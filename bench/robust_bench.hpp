#pragma once

#include <vector>

namespace fl::bench {

struct robust_bench_options {
  std::vector<double> sizes = {1e6, 1e7}; ///< model sizes, floats
  int k = 10;                             ///< updates per round
};

/// Prints, per model size with K updates: GB/s of update bytes combined by
/// the streaming FedAvg fold (exact CPU sum, one thread) next to the
/// resident robust rules (coordinate-wise median and trimmed mean on all
/// cores, Krum and Multi-Krum on one), and the encode/decode rates of the update
/// compressors. Returns 0.
int run_robust_bench(const robust_bench_options& opts);

} // namespace fl::bench
