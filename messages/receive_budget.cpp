#include "messages/receive_budget.hpp"

#include <algorithm>
#include <chrono>
#include <new>

#include <sys/mman.h>

namespace fl {

namespace {

constexpr std::align_val_t buffer_alignment{64};

/// Buffers from this size on are mapped directly (2 MiB aligned, so the
/// kernel may back them with huge pages), and freeing one gives the memory
/// back at once.
constexpr uint64_t huge_from = uint64_t{8} << 20;
constexpr uint64_t huge_page = uint64_t{2} << 20;

uint64_t mapped_bytes(uint64_t numel) {
  return (numel * sizeof(float) + huge_page - 1) / huge_page * huge_page;
}

float* raw_floats(uint64_t numel) {
  const uint64_t bytes = numel * sizeof(float);
  if (bytes < huge_from) {
    // Uninitialised: pages are touched only as pieces are written.
    return static_cast<float*>(::operator new[](
      std::max<uint64_t>(numel, 1) * sizeof(float), buffer_alignment));
  }
  const uint64_t size = mapped_bytes(numel);
  void* raw = ::mmap(nullptr, size + huge_page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED)
    throw std::bad_alloc{};
  auto at = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (at + huge_page - 1) / huge_page * huge_page;
  if (aligned > at)
    ::munmap(raw, aligned - at);
  ::munmap(reinterpret_cast<void*>(aligned + size), at + huge_page - aligned);
  return reinterpret_cast<float*>(aligned);
}

void free_floats(float* p, uint64_t numel) noexcept {
  if (numel * sizeof(float) < huge_from)
    ::operator delete[](p, buffer_alignment);
  else
    ::munmap(p, mapped_bytes(numel));
}

} // namespace

receive_budget::receive_budget(uint64_t limit_bytes,
                               std::function<void()> on_release,
                               size_t max_pooled)
    : ledger_(std::make_shared<ledger>()) {
  ledger_->limit = limit_bytes;
  ledger_->max_pooled = max_pooled;
  ledger_->on_release = std::move(on_release);
}

std::shared_ptr<float> receive_budget::try_allocate(uint64_t numel) {
  const uint64_t bytes = numel * sizeof(float);
  auto& l = *ledger_;
  uint64_t held = l.in_use.load();
  do {
    if (l.limit != 0 && held != 0 && held + bytes > l.limit)
      return nullptr;
  } while (!l.in_use.compare_exchange_weak(held, held + bytes));
  // A released buffer of the same size first: writing into fresh pages
  // costs a page fault and a page clearing per 4 KiB, more than the
  // transfer itself on a fast link.
  float* p = nullptr;
  {
    std::lock_guard<std::mutex> guard{l.mx};
    for (auto i = l.pool.begin(); i != l.pool.end(); ++i)
      if (i->first == numel) {
        p = i->second;
        l.pool.erase(i);
        break;
      }
  }
  if (!p) {
    try {
      p = raw_floats(numel);
    } catch (...) {
      l.in_use -= bytes;
      throw;
    }
  }
  return std::shared_ptr<float>(p, [keep = ledger_, bytes, numel](float* q) {
    {
      std::lock_guard<std::mutex> guard{keep->mx};
      keep->in_use -= bytes;
      // Kept only within the budget: what is held and what is kept for
      // reuse together stay below the limit.
      uint64_t pooled = bytes;
      for (const auto& [n, b] : keep->pool)
        pooled += n * sizeof(float);
      if (keep->pool.size() < keep->max_pooled
          && (keep->limit == 0
              || keep->in_use.load() + pooled <= keep->limit))
        keep->pool.emplace_back(numel, q);
      else
        free_floats(q, numel);
    }
    keep->released.notify_all();
    if (keep->on_release)
      keep->on_release();
  });
}

receive_budget::ledger::~ledger() {
  for (auto& [numel, p] : pool)
    free_floats(p, numel);
}

std::shared_ptr<float>
receive_budget::allocate_waiting(uint64_t numel,
                                 const std::atomic<bool>& stop) {
  for (;;) {
    if (stop)
      return nullptr;
    if (auto p = try_allocate(numel))
      return p;
    std::unique_lock<std::mutex> lock{ledger_->mx};
    // Woken by a release; the timeout notices `stop`.
    ledger_->released.wait_for(lock, std::chrono::milliseconds(50));
  }
}

uint64_t receive_budget::in_use() const noexcept {
  return ledger_->in_use.load();
}

uint64_t receive_budget::limit() const noexcept { return ledger_->limit; }

std::shared_ptr<float> allocate_floats(uint64_t numel) {
  return std::shared_ptr<float>(raw_floats(numel),
                                [numel](float* q) { free_floats(q, numel); });
}

} // namespace fl
