// The CUDA device: the `device` interface (runtime/aggregation/device.hpp)
// on GPU 0, with non-blocking streams, page-locked staging and one event per
// staging slot. The orchestration (buckets, staging, overlap) lives in the
// stream aggregator, which the host device exercises without a GPU; this
// file only maps each operation onto the CUDA runtime.

#include <cuda_runtime.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "runtime/aggregation/aggregator.hpp"
#include "runtime/aggregation/cuda/cuda_figures.hpp"
#include "runtime/aggregation/device.hpp"
#include "runtime/aggregation/stream_aggregator.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

namespace {

caf::error cuda_fail(cudaError_t err, const char* what) {
  return make_fl_error(errc::io_error, std::string{what} + ": "
                                         + cudaGetErrorString(err) + " ("
                                         + std::to_string(static_cast<int>(
                                           err))
                                         + ")");
}

#define FL_CUDA_TRY(expr)                                                      \
  do {                                                                         \
    cudaError_t fl_cuda_err_ = (expr);                                         \
    if (fl_cuda_err_ != cudaSuccess)                                           \
      return cuda_fail(fl_cuda_err_, #expr);                                   \
  } while (false)

__global__ void axpy_kernel(float* __restrict__ acc,
                            const float* __restrict__ x, float w, size_t n) {
  size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (; i < n; i += stride)
    acc[i] += w * x[i];
}

__global__ void scale_kernel(const float* __restrict__ acc,
                             float* __restrict__ out, float s, size_t n) {
  size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (; i < n; i += stride)
    out[i] = acc[i] * s;
}

__global__ void mix_kernel(float* __restrict__ w, const float* __restrict__ x,
                           float keep, float alpha, size_t n) {
  size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (; i < n; i += stride)
    w[i] = keep * w[i] + alpha * x[i];
}

unsigned blocks_for(size_t n) {
  return static_cast<unsigned>(
    std::max<size_t>(1, std::min<size_t>((n + 255) / 256, size_t{65535})));
}

class cuda_device : public device {
public:
  ~cuda_device() override {
    for (auto e : events_)
      if (e != nullptr)
        cudaEventDestroy(e);
    for (auto s : streams_)
      cudaStreamDestroy(s);
  }

  std::string name() const override { return "cuda"; }

  caf::error init(uint32_t streams) override {
    int count = 0;
    FL_CUDA_TRY(cudaGetDeviceCount(&count));
    if (count == 0)
      return make_fl_error(errc::io_error, "no CUDA device");
    FL_CUDA_TRY(cudaSetDevice(0));
    streams_.resize(std::max<uint32_t>(1, streams));
    for (auto& s : streams_)
      FL_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return caf::none;
  }

  uint32_t streams() const override {
    return static_cast<uint32_t>(streams_.size());
  }

  caf::expected<float*> alloc(size_t n) override {
    float* p = nullptr;
    FL_CUDA_TRY(cudaMalloc(&p, std::max<size_t>(n, 1) * sizeof(float)));
    return p;
  }

  void release(float* p) override { cudaFree(p); }

  caf::expected<float*> alloc_pinned(size_t n) override {
    float* p = nullptr;
    FL_CUDA_TRY(cudaMallocHost(&p, std::max<size_t>(n, 1) * sizeof(float)));
    return p;
  }

  void release_pinned(float* p) override { cudaFreeHost(p); }

  caf::error zero(float* dst, size_t n) override {
    FL_CUDA_TRY(cudaDeviceSynchronize());
    FL_CUDA_TRY(cudaMemset(dst, 0, n * sizeof(float)));
    return caf::none;
  }

  caf::error upload(float* dst, const float* src, size_t n,
                    uint32_t stream) override {
    FL_CUDA_TRY(cudaMemcpyAsync(dst, src, n * sizeof(float),
                                cudaMemcpyHostToDevice, streams_[stream]));
    return caf::none;
  }

  caf::error download(float* dst, const float* src, size_t n,
                      uint32_t stream) override {
    FL_CUDA_TRY(cudaMemcpyAsync(dst, src, n * sizeof(float),
                                cudaMemcpyDeviceToHost, streams_[stream]));
    return caf::none;
  }

  caf::error axpy(float* acc, const float* x, float w, size_t n,
                  uint32_t stream) override {
    axpy_kernel<<<blocks_for(n), 256, 0, streams_[stream]>>>(acc, x, w, n);
    FL_CUDA_TRY(cudaGetLastError());
    return caf::none;
  }

  caf::error scale(const float* acc, float* out, float s, size_t n,
                   uint32_t stream) override {
    scale_kernel<<<blocks_for(n), 256, 0, streams_[stream]>>>(acc, out, s, n);
    FL_CUDA_TRY(cudaGetLastError());
    return caf::none;
  }

  caf::error mix(float* w, const float* x, float keep, float alpha, size_t n,
                 uint32_t stream) override {
    mix_kernel<<<blocks_for(n), 256, 0, streams_[stream]>>>(w, x, keep, alpha,
                                                             n);
    FL_CUDA_TRY(cudaGetLastError());
    return caf::none;
  }

  caf::error record(uint32_t slot, uint32_t stream) override {
    if (slot >= events_.size())
      events_.resize(slot + 1, nullptr);
    if (events_[slot] == nullptr)
      FL_CUDA_TRY(
        cudaEventCreateWithFlags(&events_[slot], cudaEventDisableTiming));
    FL_CUDA_TRY(cudaEventRecord(events_[slot], streams_[stream]));
    return caf::none;
  }

  caf::error wait(uint32_t slot) override {
    if (slot < events_.size() && events_[slot] != nullptr)
      FL_CUDA_TRY(cudaEventSynchronize(events_[slot]));
    return caf::none;
  }

  caf::error synchronize() override {
    for (auto s : streams_)
      FL_CUDA_TRY(cudaStreamSynchronize(s));
    return caf::none;
  }

private:
  std::vector<cudaStream_t> streams_;
  std::vector<cudaEvent_t> events_;
};

caf::expected<std::unique_ptr<stream_aggregator>>
make_cuda_stream_aggregator(const aggregator_options& opts) {
  auto dev = std::make_unique<cuda_device>();
  if (auto err = dev->init(std::max<uint32_t>(1, opts.streams)))
    return err;
  return std::make_unique<stream_aggregator>(std::move(dev), opts);
}

} // namespace

caf::expected<cuda_figures> measure_cuda(const aggregator_options& opts,
                                         size_t n, int k) {
  auto made = make_cuda_stream_aggregator(opts);
  if (!made)
    return std::move(made.error());
  auto& agg = **made;
  model_layout layout;
  // Many layers, so layer-by-layer and bucketing differ.
  const size_t layers = 64;
  for (size_t i = 0; i < layers; ++i)
    layout.add("l" + std::to_string(i),
               {static_cast<int64_t>(n / layers + (i < n % layers ? 1 : 0))});
  if (auto err = agg.begin(layout))
    return err;
  float* dev = nullptr;
  float* dev2 = nullptr;
  float* pinned = nullptr;
  FL_CUDA_TRY(cudaMalloc(&dev, n * sizeof(float)));
  FL_CUDA_TRY(cudaMalloc(&dev2, n * sizeof(float)));
  FL_CUDA_TRY(cudaMallocHost(&pinned, n * sizeof(float)));
  std::vector<float> host(n, 0.5f);
  FL_CUDA_TRY(cudaMemset(dev, 0, n * sizeof(float)));
  cudaEvent_t t0, t1;
  cudaEventCreate(&t0);
  cudaEventCreate(&t1);
  auto timed = [&](auto&& f) -> double {
    cudaDeviceSynchronize();
    cudaEventRecord(t0);
    for (int i = 0; i < k; ++i)
      f();
    cudaEventRecord(t1);
    cudaEventSynchronize(t1);
    float ms = 0;
    cudaEventElapsedTime(&ms, t0, t1);
    return ms / 1000.0 / k;
  };
  const double bytes = static_cast<double>(n) * sizeof(float);
  cuda_figures fig;
  fig.d2d_gbps = 2 * bytes / timed([&] {
    cudaMemcpy(dev2, dev, n * sizeof(float), cudaMemcpyDeviceToDevice);
  }) / 1e9; // read + write
  fig.h2d_gbps = bytes / timed([&] {
    cudaMemcpy(dev2, pinned, n * sizeof(float), cudaMemcpyHostToDevice);
  }) / 1e9;
  // The fold reads acc and x and writes acc: 3 x bytes of traffic.
  fig.fold_device_gbps = 3 * bytes / timed([&] { agg.fold_device(dev, 0.5); })
                         / 1e9;
  auto host_s = timed([&] {
    agg.fold(span<const float>{host.data(), host.size()}, 0.5);
  });
  fig.fold_host_gbps = bytes / host_s / 1e9; // update bytes from the host
  fig.fold_host_ms = host_s * 1e3;
  cudaEventDestroy(t0);
  cudaEventDestroy(t1);
  cudaFree(dev);
  cudaFree(dev2);
  cudaFreeHost(pinned);
  return fig;
}

caf::expected<std::unique_ptr<aggregator>>
make_cuda_aggregator(const aggregator_options& opts) {
  auto made = make_cuda_stream_aggregator(opts);
  if (!made)
    return std::move(made.error());
  return std::unique_ptr<aggregator>{std::move(*made)};
}

} // namespace fl
