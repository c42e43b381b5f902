// The CPU aggregator: the reference aggregation math (runtime/aggregate)
// split into contiguous chunks over a small pool of threads, so a fold uses
// the memory bandwidth of several cores. Its sum is exact fixed point
// (exact_accumulate), so the mean does not depend on the order in which
// updates arrive: same updates, same bits.

#include <algorithm>
#include <condition_variable>
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/aggregation/aggregate.hpp"
#include "runtime/aggregation/aggregator.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

namespace {

/// Runs `job(i)` for i in [0, n) on the pool and waits for all of them.
/// The calling thread runs job 0 itself.
class chunk_pool {
public:
  explicit chunk_pool(size_t threads) {
    for (size_t i = 1; i < threads; ++i)
      workers_.emplace_back([this, i] { loop(i); });
    size_ = threads;
  }

  ~chunk_pool() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_)
      t.join();
  }

  size_t size() const { return size_; }

  void run(const std::function<void(size_t)>& job) {
    if (size_ == 1) {
      job(0);
      return;
    }
    {
      std::lock_guard<std::mutex> guard{mtx_};
      job_ = &job;
      pending_ = size_ - 1;
      ++generation_;
    }
    cv_.notify_all();
    job(0);
    std::unique_lock<std::mutex> guard{mtx_};
    done_.wait(guard, [this] { return pending_ == 0; });
    job_ = nullptr;
  }

private:
  void loop(size_t index) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(size_t)>* job = nullptr;
      {
        std::unique_lock<std::mutex> guard{mtx_};
        cv_.wait(guard, [&] { return stop_ || generation_ != seen; });
        if (stop_)
          return;
        seen = generation_;
        job = job_;
      }
      (*job)(index);
      std::lock_guard<std::mutex> guard{mtx_};
      if (--pending_ == 0)
        done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mtx_;
  std::condition_variable cv_, done_;
  const std::function<void(size_t)>* job_ = nullptr;
  size_t pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  size_t size_ = 1;
};

/// Models below this many elements are folded on one thread: waking the
/// pool costs more than it saves.
constexpr size_t parallel_threshold = 1u << 18;

class cpu_aggregator : public aggregator {
public:
  explicit cpu_aggregator(size_t threads) : pool_(threads) {}

  std::string name() const override {
    return "cpu (" + std::to_string(pool_.size()) + " threads)";
  }

  caf::error begin(const model_layout& layout) override {
    acc_.assign(layout.numel(), 0);
    total_.clear();
    return caf::none;
  }

  caf::error fold(span<const float> x, double w) override {
    if (x.size() != acc_.size())
      return make_fl_error(errc::size_mismatch,
                           "update has " + std::to_string(x.size())
                             + " elements, the sum "
                             + std::to_string(acc_.size()));
    if (!(w >= 0) || total_.value() + w > exact_weight_limit)
      return make_fl_error(errc::invalid_field,
                           "fold weight " + std::to_string(w)
                             + " would take the sum's weights beyond "
                             + std::to_string(exact_weight_limit)
                             + " (weights are normalised per sum)");
    if (auto bad = accumulate(x, w, false); bad > 0) {
      accumulate(x, w, true); // exact undo: the same terms, subtracted
      return make_fl_error(errc::rejected_update,
                           std::to_string(bad)
                             + " update values are NaN or beyond +-"
                             + std::to_string(exact_value_limit)
                             + ", the range of the exact sum");
    }
    total_.add(w);
    return caf::none;
  }

  caf::error unfold(span<const float> x, double w) override {
    if (x.size() != acc_.size())
      return make_fl_error(errc::size_mismatch, "update has the wrong size");
    accumulate(x, w, true);
    total_.subtract(w);
    return caf::none;
  }

  caf::error fold_part(uint64_t offset, span<const float> part, double w,
                       bool subtract) override {
    if (offset > acc_.size() || part.size() > acc_.size() - offset)
      return make_fl_error(errc::size_mismatch, "part beyond the sum");
    span<int64_t> acc{acc_.data() + offset, part.size()};
    auto bad = exact_accumulate(acc, part, w, subtract);
    if (!bad)
      return std::move(bad.error());
    if (*bad > 0) {
      exact_accumulate(acc, part, w, !subtract); // exact undo
      return out_of_range(*bad);
    }
    return caf::none;
  }

  caf::error fold_entries(uint64_t offset, span<const uint32_t> idx,
                          span<const float> values, double w,
                          bool subtract) override {
    if (idx.size() != values.size())
      return make_fl_error(errc::size_mismatch, "indices and values differ");
    size_t done = 0;
    caf::error err;
    for (; done < idx.size(); ++done) {
      const uint64_t at = offset + idx[done];
      if (at >= acc_.size()) {
        err = make_fl_error(errc::size_mismatch, "index beyond the sum");
        break;
      }
      auto bad = exact_accumulate(span<int64_t>{&acc_[at], 1},
                                  span<const float>{&values[done], 1}, w,
                                  subtract);
      if (!bad || *bad > 0) {
        if (bad) // clamped: take this one back too
          exact_accumulate(span<int64_t>{&acc_[at], 1},
                           span<const float>{&values[done], 1}, w, !subtract);
        err = bad ? out_of_range(1) : std::move(bad.error());
        break;
      }
    }
    if (err) // exact undo of the entries folded before
      for (size_t i = 0; i < done; ++i)
        exact_accumulate(span<int64_t>{&acc_[offset + idx[i]], 1},
                         span<const float>{&values[i], 1}, w, !subtract);
    return err;
  }

  caf::error add_weight(double w) override {
    if (w >= 0) {
      if (total_.value() + w > exact_weight_limit)
        return make_fl_error(errc::invalid_field,
                             "fold weight beyond the sum's limit");
      total_.add(w);
    } else {
      total_.subtract(-w);
    }
    return caf::none;
  }

  caf::error finalize(span<float> out) override {
    if (out.size() != acc_.size())
      return make_fl_error(errc::size_mismatch, "output has the wrong size");
    const double total = total_.value();
    if (!(total > 0))
      return make_fl_error(errc::invalid_field, "nothing was folded");
    span<const int64_t> acc{acc_};
    for_chunks(acc.size(), [&](size_t first, size_t n) {
      exact_finalize(acc.subspan(first, n), total, out.subspan(first, n));
    });
    return caf::none;
  }

  caf::error mix(span<float> global, span<const float> x,
                 double alpha) override {
    if (global.size() != x.size())
      return make_fl_error(errc::size_mismatch, "update has the wrong size");
    if (!(alpha >= 0 && alpha <= 1))
      return make_fl_error(errc::invalid_field, "alpha outside [0, 1]");
    for_chunks(global.size(), [&](size_t first, size_t n) {
      fl::mix(global.subspan(first, n), x.subspan(first, n), alpha);
    });
    return caf::none;
  }

private:
  static caf::error out_of_range(uint64_t bad) {
    return make_fl_error(errc::rejected_update,
                         std::to_string(bad)
                           + " update values are NaN or beyond +-"
                           + std::to_string(exact_value_limit)
                           + ", the range of the exact sum");
  }

  /// Folds (or subtracts) w * x over the pool; returns how many values
  /// are NaN or beyond the exact range.
  uint64_t accumulate(span<const float> x, double w, bool subtract) {
    span<int64_t> acc{acc_};
    std::vector<uint64_t> bad(pool_.size(), 0);
    for_chunks(acc.size(), [&](size_t first, size_t n, size_t part) {
      auto found = exact_accumulate(acc.subspan(first, n),
                                    x.subspan(first, n), w, subtract);
      bad[part] = found ? *found : n;
    });
    uint64_t total = 0;
    for (auto b : bad)
      total += b;
    return total;
  }

  template <class F>
  void for_chunks(size_t n, F f) {
    if (n < parallel_threshold || pool_.size() == 1) {
      call(f, 0, n, 0);
      return;
    }
    const size_t parts = pool_.size();
    // Chunk borders on 16-float (64-byte) boundaries: no false sharing.
    const size_t per = ((n / parts) + 15) & ~size_t{15};
    std::function<void(size_t)> job = [&](size_t i) {
      const size_t first = std::min(n, i * per);
      const size_t last = i + 1 == parts ? n : std::min(n, first + per);
      if (last > first)
        call(f, first, last - first, i);
    };
    pool_.run(job);
  }

  /// Runs a chunk job that may or may not want its chunk index.
  template <class F>
  static void call(F& f, size_t first, size_t n, size_t part) {
    if constexpr (std::is_invocable_v<F&, size_t, size_t, size_t>)
      f(first, n, part);
    else
      f(first, n);
  }

  chunk_pool pool_;
  std::vector<int64_t> acc_;
  exact_sum total_;
};

} // namespace

std::unique_ptr<aggregator> make_cpu_aggregator(size_t threads) {
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  return std::make_unique<cpu_aggregator>(threads);
}

} // namespace fl
