#include "runtime/aggregation/host_device.hpp"

#include <algorithm>
#include <cstring>

#include "runtime/core/errors.hpp"

namespace fl {

host_device::~host_device() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  work_.notify_all();
  for (auto& s : streams_)
    s->worker.join();
}

caf::error host_device::init(uint32_t streams) {
  if (!streams_.empty())
    return make_fl_error(errc::invalid_config, "device already initialised");
  if (streams == 0)
    return make_fl_error(errc::invalid_config, "at least one stream");
  for (uint32_t i = 0; i < streams; ++i)
    streams_.push_back(std::make_unique<stream_thread>());
  for (size_t i = 0; i < streams_.size(); ++i)
    streams_[i]->worker = std::thread{[this, i] { loop(i); }};
  return caf::none;
}

void host_device::loop(size_t index) {
  auto& s = *streams_[index];
  std::unique_lock<std::mutex> guard{mtx_};
  for (;;) {
    work_.wait(guard, [&] { return stop_ || !s.jobs.empty(); });
    if (s.jobs.empty())
      return; // stop_ and nothing left
    auto job = std::move(s.jobs.front());
    s.jobs.pop_front();
    s.busy = true;
    guard.unlock();
    job();
    guard.lock();
    s.busy = false;
    ++jobs_run_;
    idle_.notify_all();
  }
}

caf::error host_device::enqueue(uint32_t stream, std::function<void()> job) {
  if (stream >= streams_.size())
    return make_fl_error(errc::invalid_field,
                         "stream " + std::to_string(stream) + " of "
                           + std::to_string(streams_.size()));
  {
    std::lock_guard<std::mutex> guard{mtx_};
    streams_[stream]->jobs.push_back(std::move(job));
  }
  work_.notify_all();
  return caf::none;
}

caf::expected<float*> host_device::alloc(size_t n) {
  return new float[std::max<size_t>(n, 1)];
}

void host_device::release(float* p) {
  delete[] p;
}

caf::expected<float*> host_device::alloc_pinned(size_t n) {
  return alloc(n);
}

void host_device::release_pinned(float* p) {
  release(p);
}

caf::error host_device::zero(float* dst, size_t n) {
  if (auto err = synchronize())
    return err;
  std::memset(dst, 0, n * sizeof(float));
  return caf::none;
}

caf::error host_device::upload(float* dst, const float* src, size_t n,
                               uint32_t stream) {
  return enqueue(stream,
                 [=] { std::memcpy(dst, src, n * sizeof(float)); });
}

caf::error host_device::download(float* dst, const float* src, size_t n,
                                 uint32_t stream) {
  return upload(dst, src, n, stream);
}

caf::error host_device::axpy(float* acc, const float* x, float w, size_t n,
                             uint32_t stream) {
  return enqueue(stream, [=] {
    for (size_t i = 0; i < n; ++i)
      acc[i] += w * x[i];
  });
}

caf::error host_device::scale(const float* acc, float* out, float s, size_t n,
                              uint32_t stream) {
  return enqueue(stream, [=] {
    for (size_t i = 0; i < n; ++i)
      out[i] = acc[i] * s;
  });
}

caf::error host_device::mix(float* w, const float* x, float keep,
                            float alpha, size_t n, uint32_t stream) {
  return enqueue(stream, [=] {
    for (size_t i = 0; i < n; ++i)
      w[i] = keep * w[i] + alpha * x[i];
  });
}

caf::error host_device::record(uint32_t slot, uint32_t stream) {
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (slot >= recorded_.size()) {
      recorded_.resize(slot + 1, 0);
      reached_.resize(slot + 1, 0);
    }
    generation = ++recorded_[slot];
  }
  return enqueue(stream, [this, slot, generation] {
    std::lock_guard<std::mutex> guard{mtx_};
    reached_[slot] = std::max(reached_[slot], generation);
  });
}

caf::error host_device::wait(uint32_t slot) {
  std::unique_lock<std::mutex> guard{mtx_};
  if (slot >= recorded_.size())
    return caf::none; // never recorded
  const auto target = recorded_[slot];
  idle_.wait(guard, [&] { return reached_[slot] >= target; });
  return caf::none;
}

caf::error host_device::synchronize() {
  std::unique_lock<std::mutex> guard{mtx_};
  idle_.wait(guard, [&] {
    for (const auto& s : streams_)
      if (s->busy || !s->jobs.empty())
        return false;
    return true;
  });
  return caf::none;
}

uint64_t host_device::jobs_run() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return jobs_run_;
}

} // namespace fl
