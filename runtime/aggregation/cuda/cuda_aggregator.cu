// The CUDA aggregator: owns device 0, a device accumulator, N streams and
// double-buffered pinned staging per stream. A fold walks the bucket plan
// (runtime/aggregator.hpp): for bucket i on stream s, the host update is
// copied into pinned staging (CPU), sent host-to-device on s, and folded by
// an axpy kernel on s, so copies of one bucket overlap kernels of others.

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/aggregation/aggregator.hpp"
#include "runtime/aggregation/cuda/cuda_figures.hpp"
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
    std::min<size_t>((n + 255) / 256, size_t{65535}));
}

class cuda_aggregator : public aggregator {
public:
  explicit cuda_aggregator(const aggregator_options& opts) : opts_(opts) {}

  ~cuda_aggregator() override {
    for (auto e : staging_ready_)
      if (e != nullptr)
        cudaEventDestroy(e);
    for (auto s : streams_)
      cudaStreamDestroy(s);
    for (auto p : staging_)
      cudaFreeHost(p);
    cudaFree(acc_);
    cudaFree(scratch_);
  }

  caf::error init() {
    int count = 0;
    FL_CUDA_TRY(cudaGetDeviceCount(&count));
    if (count == 0)
      return make_fl_error(errc::io_error, "no CUDA device");
    FL_CUDA_TRY(cudaSetDevice(0));
    streams_.resize(std::max<uint32_t>(1, opts_.streams));
    for (auto& s : streams_)
      FL_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return caf::none;
  }

  std::string name() const override {
    return "cuda " + to_string(opts_.strategy) + " x"
           + std::to_string(streams_.size()) + " streams";
  }

  caf::error begin(const model_layout& layout) override {
    if (layout.numel() != n_) {
      cudaFree(acc_);
      cudaFree(scratch_);
      acc_ = scratch_ = nullptr;
      n_ = layout.numel();
      FL_CUDA_TRY(cudaMalloc(&acc_, std::max<size_t>(n_, 1) * sizeof(float)));
      FL_CUDA_TRY(
        cudaMalloc(&scratch_, std::max<size_t>(n_, 1) * sizeof(float)));
    }
    plan_ = plan_buckets(layout, opts_.strategy,
                         static_cast<uint32_t>(streams_.size()),
                         opts_.bucket_elements);
    uint64_t largest = 1;
    for (const auto& b : plan_)
      largest = std::max(largest, b.count);
    if (largest > staging_elements_) {
      for (auto e : staging_ready_)
        if (e != nullptr)
          cudaEventDestroy(e);
      for (auto p : staging_)
        cudaFreeHost(p);
      staging_.assign(streams_.size() * 2, nullptr);
      for (auto& p : staging_)
        FL_CUDA_TRY(cudaMallocHost(&p, largest * sizeof(float)));
      staging_elements_ = largest;
      staging_ready_.assign(staging_.size(), nullptr);
    }
    FL_CUDA_TRY(cudaMemset(acc_, 0, n_ * sizeof(float)));
    total_ = 0;
    return caf::none;
  }

  caf::error fold(span<const float> x, double w) override {
    if (x.size() != n_)
      return make_fl_error(errc::size_mismatch, "update has the wrong size");
    if (auto err = upload(x))
      return err;
    for (const auto& b : plan_)
      axpy_kernel<<<blocks_for(b.count), 256, 0, streams_[b.stream]>>>(
        acc_ + b.offset, scratch_ + b.offset, static_cast<float>(w), b.count);
    FL_CUDA_TRY(cudaGetLastError());
    total_ += w;
    return sync();
  }

  caf::error finalize(span<float> out) override {
    if (out.size() != n_)
      return make_fl_error(errc::size_mismatch, "output has the wrong size");
    if (!(total_ > 0))
      return make_fl_error(errc::invalid_field, "nothing was folded");
    for (const auto& b : plan_) {
      auto s = streams_[b.stream];
      scale_kernel<<<blocks_for(b.count), 256, 0, s>>>(
        acc_ + b.offset, scratch_ + b.offset,
        static_cast<float>(1.0 / total_), b.count);
      FL_CUDA_TRY(cudaMemcpyAsync(out.data() + b.offset, scratch_ + b.offset,
                                  b.count * sizeof(float),
                                  cudaMemcpyDeviceToHost, s));
    }
    FL_CUDA_TRY(cudaGetLastError());
    return sync();
  }

  caf::error mix(span<float> global, span<const float> x,
                 double alpha) override {
    if (global.size() != x.size() || x.size() != n_)
      return make_fl_error(errc::size_mismatch, "update has the wrong size");
    if (!(alpha >= 0 && alpha <= 1))
      return make_fl_error(errc::invalid_field, "alpha outside [0, 1]");
    // acc holds the global model for mixing: upload both, mix, download.
    FL_CUDA_TRY(cudaMemcpy(acc_, global.data(), n_ * sizeof(float),
                           cudaMemcpyHostToDevice));
    if (auto err = upload(x))
      return err;
    for (const auto& b : plan_)
      mix_kernel<<<blocks_for(b.count), 256, 0, streams_[b.stream]>>>(
        acc_ + b.offset, scratch_ + b.offset, static_cast<float>(1.0 - alpha),
        static_cast<float>(alpha), b.count);
    FL_CUDA_TRY(cudaGetLastError());
    if (auto err = sync())
      return err;
    FL_CUDA_TRY(cudaMemcpy(global.data(), acc_, n_ * sizeof(float),
                           cudaMemcpyDeviceToHost));
    return caf::none;
  }

  /// Folds an update that already lives on the device (benchmarks:
  /// device-resident updates measure kernel bandwidth alone).
  caf::error fold_device(const float* x, double w) {
    for (const auto& b : plan_)
      axpy_kernel<<<blocks_for(b.count), 256, 0, streams_[b.stream]>>>(
        acc_ + b.offset, x + b.offset, static_cast<float>(w), b.count);
    FL_CUDA_TRY(cudaGetLastError());
    total_ += w;
    return sync();
  }

private:
  /// Host update -> pinned staging -> device scratch, bucket by bucket, with
  /// two staging buffers per stream so the CPU copy of bucket i+streams
  /// overlaps the transfer of bucket i.
  caf::error upload(span<const float> x) {
    for (size_t i = 0; i < plan_.size(); ++i) {
      const auto& b = plan_[i];
      const size_t slot = b.stream * 2 + (i / streams_.size()) % 2;
      auto s = streams_[b.stream];
      // Wait until the previous transfer out of this staging slot is done.
      if (staging_ready_[slot] != nullptr) {
        FL_CUDA_TRY(cudaEventSynchronize(staging_ready_[slot]));
      } else {
        FL_CUDA_TRY(cudaEventCreateWithFlags(&staging_ready_[slot],
                                             cudaEventDisableTiming));
      }
      std::memcpy(staging_[slot], x.data() + b.offset, b.count * sizeof(float));
      FL_CUDA_TRY(cudaMemcpyAsync(scratch_ + b.offset, staging_[slot],
                                  b.count * sizeof(float),
                                  cudaMemcpyHostToDevice, s));
      FL_CUDA_TRY(cudaEventRecord(staging_ready_[slot], s));
    }
    return caf::none;
  }

  caf::error sync() {
    for (auto s : streams_)
      FL_CUDA_TRY(cudaStreamSynchronize(s));
    return caf::none;
  }

  aggregator_options opts_;
  std::vector<cudaStream_t> streams_;
  std::vector<float*> staging_;
  std::vector<cudaEvent_t> staging_ready_;
  uint64_t staging_elements_ = 0;
  std::vector<bucket> plan_;
  float* acc_ = nullptr;
  float* scratch_ = nullptr;
  size_t n_ = 0;
  double total_ = 0;
};

} // namespace

caf::expected<cuda_figures> measure_cuda(const aggregator_options& opts,
                                         size_t n, int k) {
  auto agg = std::make_unique<cuda_aggregator>(opts);
  if (auto err = agg->init())
    return err;
  model_layout layout;
  // Many layers, so layer-by-layer and bucketing differ.
  const size_t layers = 64;
  for (size_t i = 0; i < layers; ++i)
    layout.add("l" + std::to_string(i),
               {static_cast<int64_t>(n / layers + (i < n % layers ? 1 : 0))});
  if (auto err = agg->begin(layout))
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
  fig.fold_device_gbps = 3 * bytes / timed([&] { agg->fold_device(dev, 0.5); })
                         / 1e9;
  auto host_s = timed([&] {
    agg->fold(span<const float>{host.data(), host.size()}, 0.5);
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
  auto result = std::make_unique<cuda_aggregator>(opts);
  if (auto err = result->init())
    return err;
  return std::unique_ptr<aggregator>{std::move(result)};
}

} // namespace fl
