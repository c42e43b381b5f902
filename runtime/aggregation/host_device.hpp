#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/aggregation/device.hpp"

namespace fl {

/// A `device` in host memory whose streams are threads: each stream runs
/// its queue of copies and kernels in order on a thread of its own, and
/// different streams run at the same time, so the stream aggregator's
/// bucket, staging and synchronisation logic is exercised (and raced) as on
/// a GPU. Kernels are plain loops; "pinned" memory is ordinary memory.
class host_device : public device {
public:
  host_device() = default;
  ~host_device() override;

  std::string name() const override { return "host (threads as streams)"; }
  caf::error init(uint32_t streams) override;
  uint32_t streams() const override {
    return static_cast<uint32_t>(streams_.size());
  }
  caf::expected<float*> alloc(size_t n) override;
  void release(float* p) override;
  caf::expected<float*> alloc_pinned(size_t n) override;
  void release_pinned(float* p) override;
  caf::error zero(float* dst, size_t n) override;
  caf::error upload(float* dst, const float* src, size_t n,
                    uint32_t stream) override;
  caf::error download(float* dst, const float* src, size_t n,
                      uint32_t stream) override;
  caf::error axpy(float* acc, const float* x, float w, size_t n,
                  uint32_t stream) override;
  caf::error scale(const float* acc, float* out, float s, size_t n,
                   uint32_t stream) override;
  caf::error mix(float* w, const float* x, float keep, float alpha, size_t n,
                 uint32_t stream) override;
  caf::error record(uint32_t slot, uint32_t stream) override;
  caf::error wait(uint32_t slot) override;
  caf::error synchronize() override;

  /// Jobs run so far on all streams (tests check that work was enqueued).
  uint64_t jobs_run() const;

private:
  struct stream_thread {
    std::deque<std::function<void()>> jobs;
    bool busy = false;
    std::thread worker;
  };

  caf::error enqueue(uint32_t stream, std::function<void()> job);
  void loop(size_t index);

  mutable std::mutex mtx_;
  std::condition_variable work_;  ///< a job was enqueued, or stop
  std::condition_variable idle_;  ///< a job finished
  std::vector<std::unique_ptr<stream_thread>> streams_;
  /// Events: recorded and reached generation per slot.
  std::vector<uint64_t> recorded_;
  std::vector<uint64_t> reached_;
  uint64_t jobs_run_ = 0;
  bool stop_ = false;
};

} // namespace fl
