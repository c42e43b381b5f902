#include "runtime/aggregation/stream_aggregator.hpp"

#include <algorithm>
#include <cstring>

#include "runtime/aggregation/host_device.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

#define FL_DEVICE_TRY(expr)                                                    \
  do {                                                                         \
    if (auto fl_dev_err_ = (expr))                                             \
      return fl_dev_err_;                                                      \
  } while (false)

stream_aggregator::stream_aggregator(std::unique_ptr<device> dev,
                                     aggregator_options opts)
  : dev_(std::move(dev)), opts_(opts) {}

stream_aggregator::~stream_aggregator() {
  dev_->synchronize();
  release_buffers();
}

void stream_aggregator::release_buffers() {
  for (auto p : staging_)
    dev_->release_pinned(p);
  staging_.clear();
  staging_elements_ = 0;
  if (allocated_) {
    dev_->release(acc_);
    dev_->release(scratch_);
  }
  acc_ = scratch_ = nullptr;
  allocated_ = false;
}

std::string stream_aggregator::name() const {
  return dev_->name() + " " + to_string(opts_.strategy) + " x"
         + std::to_string(dev_->streams()) + " streams";
}

caf::error stream_aggregator::begin(const model_layout& layout) {
  FL_DEVICE_TRY(dev_->synchronize());
  if (!allocated_ || layout.numel() != n_) {
    release_buffers();
    n_ = layout.numel();
    auto acc = dev_->alloc(n_);
    if (!acc)
      return std::move(acc.error());
    auto scratch = dev_->alloc(n_);
    if (!scratch) {
      dev_->release(*acc);
      return std::move(scratch.error());
    }
    acc_ = *acc;
    scratch_ = *scratch;
    allocated_ = true;
  }
  plan_ = plan_buckets(layout, opts_.strategy, dev_->streams(),
                       opts_.bucket_elements);
  uint64_t largest = 1;
  for (const auto& b : plan_)
    largest = std::max(largest, b.count);
  if (largest > staging_elements_) {
    for (auto p : staging_)
      dev_->release_pinned(p);
    staging_.assign(size_t{dev_->streams()} * 2, nullptr);
    for (auto& p : staging_) {
      auto pinned = dev_->alloc_pinned(largest);
      if (!pinned)
        return std::move(pinned.error());
      p = *pinned;
    }
    staging_elements_ = largest;
  }
  FL_DEVICE_TRY(dev_->zero(acc_, n_));
  total_ = 0;
  return caf::none;
}

caf::error stream_aggregator::upload(span<const float> x) {
  const size_t streams = dev_->streams();
  for (size_t i = 0; i < plan_.size(); ++i) {
    const auto& b = plan_[i];
    // Two staging slots per stream, used in turn: the CPU copy of bucket
    // i + streams overlaps the transfer of bucket i.
    const auto slot = static_cast<uint32_t>(b.stream * 2
                                            + (i / streams) % 2);
    // The previous transfer out of this slot must be done.
    FL_DEVICE_TRY(dev_->wait(slot));
    std::memcpy(staging_[slot], x.data() + b.offset, b.count * sizeof(float));
    FL_DEVICE_TRY(dev_->upload(scratch_ + b.offset, staging_[slot], b.count,
                               b.stream));
    FL_DEVICE_TRY(dev_->record(slot, b.stream));
  }
  return caf::none;
}

caf::error stream_aggregator::fold(span<const float> x, double w) {
  if (x.size() != n_)
    return make_fl_error(errc::size_mismatch, "update has the wrong size");
  FL_DEVICE_TRY(upload(x));
  return fold_device(scratch_, w);
}

caf::error stream_aggregator::fold_device(const float* x, double w) {
  for (const auto& b : plan_)
    FL_DEVICE_TRY(dev_->axpy(acc_ + b.offset, x + b.offset,
                             static_cast<float>(w), b.count, b.stream));
  total_ += w;
  return dev_->synchronize();
}

caf::error stream_aggregator::finalize(span<float> out) {
  if (out.size() != n_)
    return make_fl_error(errc::size_mismatch, "output has the wrong size");
  if (!(total_ > 0))
    return make_fl_error(errc::invalid_field, "nothing was folded");
  for (const auto& b : plan_) {
    FL_DEVICE_TRY(dev_->scale(acc_ + b.offset, scratch_ + b.offset,
                              static_cast<float>(1.0 / total_), b.count,
                              b.stream));
    FL_DEVICE_TRY(dev_->download(out.data() + b.offset, scratch_ + b.offset,
                                 b.count, b.stream));
  }
  return dev_->synchronize();
}

caf::error stream_aggregator::mix(span<float> global, span<const float> x,
                                  double alpha) {
  if (global.size() != x.size() || x.size() != n_)
    return make_fl_error(errc::size_mismatch, "update has the wrong size");
  if (!(alpha >= 0 && alpha <= 1))
    return make_fl_error(errc::invalid_field, "alpha outside [0, 1]");
  // acc holds the global model while mixing; the next begin() zeroes it.
  FL_DEVICE_TRY(dev_->upload(acc_, global.data(), n_, 0));
  FL_DEVICE_TRY(dev_->synchronize());
  FL_DEVICE_TRY(upload(x));
  for (const auto& b : plan_)
    FL_DEVICE_TRY(dev_->mix(acc_ + b.offset, scratch_ + b.offset,
                            static_cast<float>(1.0 - alpha),
                            static_cast<float>(alpha), b.count, b.stream));
  for (const auto& b : plan_)
    FL_DEVICE_TRY(dev_->download(global.data() + b.offset, acc_ + b.offset,
                                 b.count, b.stream));
  return dev_->synchronize();
}

caf::expected<std::unique_ptr<aggregator>>
make_host_stream_aggregator(const aggregator_options& opts) {
  auto dev = std::make_unique<host_device>();
  if (auto err = dev->init(std::max<uint32_t>(1, opts.streams)))
    return err;
  return std::unique_ptr<aggregator>{
    std::make_unique<stream_aggregator>(std::move(dev), opts)};
}

} // namespace fl
