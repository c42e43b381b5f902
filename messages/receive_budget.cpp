#include "messages/receive_budget.hpp"

#include <algorithm>
#include <new>

namespace fl {

namespace {

constexpr std::align_val_t buffer_alignment{64};

float* raw_floats(uint64_t numel) {
  // Uninitialised: pages are touched only as pieces are written, and a
  // large block comes from (and goes back to) the OS directly.
  return static_cast<float*>(::operator new[](
      std::max<uint64_t>(numel, 1) * sizeof(float), buffer_alignment));
}

void free_floats(float* p) noexcept {
  ::operator delete[](p, buffer_alignment);
}

} // namespace

receive_budget::receive_budget(uint64_t limit_bytes,
                               std::function<void()> on_release)
    : ledger_(std::make_shared<ledger>()) {
  ledger_->limit = limit_bytes;
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
  float* p = nullptr;
  try {
    p = raw_floats(numel);
  } catch (...) {
    l.in_use -= bytes;
    throw;
  }
  return std::shared_ptr<float>(p, [keep = ledger_, bytes](float* q) {
    free_floats(q);
    keep->in_use -= bytes;
    if (keep->on_release)
      keep->on_release();
  });
}

uint64_t receive_budget::in_use() const noexcept {
  return ledger_->in_use.load();
}

uint64_t receive_budget::limit() const noexcept { return ledger_->limit; }

std::shared_ptr<float> allocate_floats(uint64_t numel) {
  return std::shared_ptr<float>(raw_floats(numel), free_floats);
}

} // namespace fl
