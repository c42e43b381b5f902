#pragma once

#include <cstddef>

#include <caf/expected.hpp>

#include "runtime/aggregation/aggregator.hpp"

namespace fl {

/// Bandwidths measured on the GPU in one run (for `fl-node bench
/// aggregation`). GB/s are 1e9 bytes per second.
struct cuda_figures {
  double d2d_gbps = 0;         ///< device-to-device memcpy (read + write)
  double h2d_gbps = 0;         ///< pinned host-to-device memcpy
  double fold_device_gbps = 0; ///< fold of a device-resident update (3 streams of bytes)
  double fold_host_gbps = 0;   ///< fold of a host-resident update, update bytes/s
  double fold_host_ms = 0;     ///< time per host-resident fold
};

/// Measures the figures for a model of `n` floats (64 layers) with `opts`'
/// strategy and streams, averaging `k` repetitions.
/// Errors: `not_implemented` without CUDA; `io_error` from the runtime.
caf::expected<cuda_figures> measure_cuda(const aggregator_options& opts,
                                         size_t n, int k);

} // namespace fl
