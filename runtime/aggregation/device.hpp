#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace fl {

/// The few operations the stream aggregator (stream_aggregator.hpp) needs
/// from an accelerator: buffers, asynchronous copies and kernels on
/// numbered streams, events and synchronisation. The CUDA device
/// (cuda/cuda_device.cu) implements it on a GPU; the host device
/// (host_device.hpp) with one thread per stream, so the orchestration code
/// is exercised on machines without a GPU.
///
/// Contract, as in CUDA: work enqueued on one stream runs in order; work on
/// different streams may overlap. Pointers from alloc() belong to the
/// device, pointers from alloc_pinned() are host memory the device copies
/// from asynchronously. An asynchronous call only enqueues; its source and
/// destination must stay valid until the stream has run it. Not
/// thread-safe: one owner (the aggregator) at a time.
class device {
public:
  virtual ~device() = default;

  /// e.g. "cuda:0" or "host (threads as streams)".
  virtual std::string name() const = 0;

  /// Creates `streams` (>= 1) streams. Errors: the device's own.
  virtual caf::error init(uint32_t streams) = 0;

  virtual uint32_t streams() const = 0;

  /// Device memory for `n` floats (n may be 0).
  virtual caf::expected<float*> alloc(size_t n) = 0;
  virtual void release(float* p) = 0;

  /// Page-locked host memory for `n` floats (the staging of uploads).
  virtual caf::expected<float*> alloc_pinned(size_t n) = 0;
  virtual void release_pinned(float* p) = 0;

  /// dst[0, n) = 0, synchronously.
  virtual caf::error zero(float* dst, size_t n) = 0;

  /// Enqueues a copy of n floats host -> device on `stream`.
  virtual caf::error upload(float* dst, const float* src, size_t n,
                            uint32_t stream) = 0;

  /// Enqueues a copy of n floats device -> host on `stream`.
  virtual caf::error download(float* dst, const float* src, size_t n,
                              uint32_t stream) = 0;

  /// Enqueues acc[i] += w * x[i] on `stream`.
  virtual caf::error axpy(float* acc, const float* x, float w, size_t n,
                          uint32_t stream) = 0;

  /// Enqueues out[i] = acc[i] * s on `stream`.
  virtual caf::error scale(const float* acc, float* out, float s, size_t n,
                           uint32_t stream) = 0;

  /// Enqueues w[i] = keep * w[i] + alpha * x[i] on `stream`.
  virtual caf::error mix(float* w, const float* x, float keep, float alpha,
                         size_t n, uint32_t stream) = 0;

  /// Marks event `slot` pending until `stream` reaches this point.
  virtual caf::error record(uint32_t slot, uint32_t stream) = 0;

  /// Blocks until event `slot` was reached (at once if never recorded).
  virtual caf::error wait(uint32_t slot) = 0;

  /// Blocks until every stream has run everything enqueued.
  virtual caf::error synchronize() = 0;
};

} // namespace fl
