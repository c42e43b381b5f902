#pragma once

#include <cstddef>
#include <vector>

namespace fl::bench {

struct codec_bench_options {
  /// Model sizes to measure, in MiB of float32 parameters.
  std::vector<size_t> sizes_mib = {1, 16, 64, 300};
  size_t chunk_mib = 64;
  int repeats = 3;
};

/// Prints encode/decode throughput per model size (chunked above
/// chunk_mib) and the CPU weighted-accumulate bandwidth as a fraction of a
/// memcpy of the same bytes, both measured in this run. Returns 0.
int run_codec_bench(const codec_bench_options& opts);

} // namespace fl::bench
