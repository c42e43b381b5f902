#pragma once

#include <memory>
#include <vector>

#include "runtime/aggregation/aggregator.hpp"
#include "runtime/aggregation/device.hpp"

namespace fl {

/// The accelerator aggregator: one orchestration over any `device`. It owns
/// a device accumulator, a device scratch buffer and double-buffered pinned
/// staging per stream. A fold walks the bucket plan (plan_buckets): for
/// bucket i on stream s, the host update is copied into a staging slot (on
/// the calling thread), uploaded on s and folded by an axpy on s, so the
/// copy of one bucket overlaps the transfer and kernels of others. With the
/// CUDA device it is the GPU aggregator; with the host device it runs the
/// same code paths on threads (tests, machines without a GPU).
class stream_aggregator : public aggregator {
public:
  /// `dev` must be initialised with opts.streams streams.
  stream_aggregator(std::unique_ptr<device> dev, aggregator_options opts);
  ~stream_aggregator() override;

  std::string name() const override;
  caf::error begin(const model_layout& layout) override;
  caf::error fold(span<const float> update, double weight) override;
  caf::error finalize(span<float> out) override;
  caf::error mix(span<float> global, span<const float> update,
                 double alpha) override;

  /// Folds an update that already lives on the device (benchmarks measure
  /// kernel bandwidth alone with it). REQUIRES: begin() and n floats at x.
  caf::error fold_device(const float* x, double weight);

  device& dev() noexcept { return *dev_; }

private:
  caf::error upload(span<const float> x);
  void release_buffers();

  std::unique_ptr<device> dev_;
  aggregator_options opts_;
  std::vector<bucket> plan_;
  std::vector<float*> staging_; ///< two slots per stream
  uint64_t staging_elements_ = 0;
  float* acc_ = nullptr;
  float* scratch_ = nullptr;
  size_t n_ = 0;
  bool allocated_ = false;
  double total_ = 0;
};

/// The stream aggregator on the host device: `opts.streams` threads stand in
/// for streams. Errors: none expected (allocation failures).
caf::expected<std::unique_ptr<aggregator>>
make_host_stream_aggregator(const aggregator_options& opts);

} // namespace fl
