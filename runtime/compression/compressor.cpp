#include "runtime/compression/compressor.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

/// A list of capnp holds at most 2^29 - 1 elements.
constexpr uint64_t max_list = (uint64_t{1} << 29) - 1;

/// Buffers an encoded tensor's views point into.
struct encoded_buffers {
  std::vector<uint16_t> half;
  std::vector<uint32_t> indices;
  std::vector<float> values;
  std::vector<float> norms;
  std::vector<uint8_t> codes;
};

/// splitmix64: a small, fast, seedable generator for stochastic rounding.
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

float uniform01(uint64_t& state) {
  return static_cast<float>(next_random(state) >> 40) * 0x1.0p-24f;
}

} // namespace

caf::error validate(const compression_settings& s) {
  auto bad = [](std::string what) {
    return make_fl_error(errc::invalid_config, std::move(what));
  };
  if (s.method != "none" && s.method != "topk" && s.method != "qsgd"
      && s.method != "fp16" && s.method != "bf16")
    return bad("compression.method must be none, topk, qsgd, fp16 or bf16, "
               "got '" + s.method + "'");
  if (!(s.topk_ratio > 0 && s.topk_ratio <= 1))
    return bad("compression.topk_ratio must be in (0, 1]");
  if (s.qsgd_bits != 4 && s.qsgd_bits != 8)
    return bad("compression.qsgd_bits must be 4 or 8");
  if (s.qsgd_bucket < 1 || s.qsgd_bucket > (1u << 24))
    return bad("compression.qsgd_bucket must be in [1, 16777216]");
  if (!(s.momentum >= 0 && s.momentum < 1))
    return bad("compression.momentum must be in [0, 1)");
  if (s.momentum > 0 && !s.error_feedback)
    return bad("compression.momentum needs compression.error_feedback");
  return caf::none;
}

compressor::compressor(compression_settings s, uint64_t numel, uint64_t seed)
  : cfg_(std::move(s)), numel_(numel), rng_state_(seed ^ 0x51ed2701u) {
  if (cfg_.error_feedback)
    residual_.assign(numel_, 0.0f);
  if (cfg_.momentum > 0)
    velocity_.assign(numel_, 0.0f);
}

double compressor::residual_norm() const {
  double sq = 0;
  for (auto x : residual_)
    sq += static_cast<double>(x) * x;
  return std::sqrt(sq);
}

caf::expected<encoded_tensor> compressor::compress(span<const float> delta) {
  if (delta.size() != numel_)
    return make_fl_error(errc::size_mismatch,
                         fmt::format("compress: {} values, expected {}",
                                     delta.size(), numel_));
  if (cfg_.method != "topk" && numel_ > max_list)
    return make_fl_error(errc::too_large,
                         fmt::format("{} cannot carry {} values (at most {})",
                                     cfg_.method, numel_, max_list));
  // v = what this update owes: the delta, plus (with feedback) what earlier
  // updates did not send; with momentum the delta goes through u first.
  span<const float> v = delta;
  if (cfg_.error_feedback) {
    const float m = static_cast<float>(cfg_.momentum);
    for (size_t i = 0; i < numel_; ++i) {
      float add = delta[i];
      if (!velocity_.empty()) {
        velocity_[i] = m * velocity_[i] + delta[i];
        add = velocity_[i];
      }
      residual_[i] += add;
    }
    v = span<const float>{residual_};
  }
  encoded_tensor out;
  if (cfg_.method == "topk")
    out = topk(v);
  else if (cfg_.method == "qsgd")
    out = qsgd(v);
  else
    out = half(v, cfg_.method == "bf16");
  if (cfg_.error_feedback) {
    // residual -= what was sent; DGC also clears the momentum of sent
    // entries (momentum factor masking).
    for_each_value(out, [&](uint64_t i, float sent) {
      residual_[i] -= sent;
      if (!velocity_.empty() && out.encoding == tensor_encoding::topk)
        velocity_[i] = 0;
    });
  }
  return out;
}

encoded_tensor compressor::topk(span<const float> v) {
  const auto k = static_cast<uint64_t>(std::max<double>(
    1.0, std::ceil(cfg_.topk_ratio * static_cast<double>(numel_))));
  std::vector<uint64_t> order(numel_);
  std::iota(order.begin(), order.end(), uint64_t{0});
  if (k < numel_)
    std::nth_element(order.begin(), order.begin() + static_cast<long>(k) - 1,
                     order.end(), [&](uint64_t a, uint64_t b) {
                       const float x = std::abs(v[a]), y = std::abs(v[b]);
                       return x > y || (x == y && a < b);
                     });
  order.resize(std::min(k, numel_));
  std::sort(order.begin(), order.end());
  auto buf = std::make_shared<encoded_buffers>();
  buf->indices.reserve(order.size());
  buf->values.reserve(order.size());
  encoded_tensor out;
  out.encoding = tensor_encoding::topk;
  out.numel = numel_;
  // One part per 2^32 values of the model, indices relative to it.
  std::vector<std::pair<uint64_t, size_t>> starts; // (offset, first entry)
  for (size_t i = 0; i < order.size(); ++i) {
    const uint64_t base = order[i] & ~uint64_t{0xffffffffu};
    if (starts.empty() || starts.back().first != base)
      starts.emplace_back(base, i);
    buf->indices.push_back(static_cast<uint32_t>(order[i] - base));
    buf->values.push_back(v[order[i]]);
  }
  if (starts.empty())
    starts.emplace_back(0, 0);
  for (size_t p = 0; p < starts.size(); ++p) {
    const size_t first = starts[p].second;
    const size_t last = p + 1 < starts.size() ? starts[p + 1].second
                                              : buf->indices.size();
    out.sparse.push_back(sparse_part{
      starts[p].first,
      span<const uint32_t>{buf->indices.data() + first, last - first},
      span<const float>{buf->values.data() + first, last - first}});
  }
  out.owner = buf;
  return out;
}

encoded_tensor compressor::qsgd(span<const float> v) {
  auto buf = std::make_shared<encoded_buffers>();
  encoded_tensor out;
  out.encoding = tensor_encoding::qsgd;
  out.numel = numel_;
  auto& q = out.qsgd;
  q.bits = cfg_.qsgd_bits;
  q.levels = q.bits == 8 ? 127 : 7;
  q.bucket = cfg_.qsgd_bucket;
  const uint64_t buckets = (numel_ + q.bucket - 1) / q.bucket;
  buf->norms.resize(buckets);
  buf->codes.assign(q.bits == 8 ? numel_ : (numel_ + 1) / 2, 0);
  const auto s = static_cast<float>(q.levels);
  for (uint64_t b = 0; b < buckets; ++b) {
    const uint64_t first = b * q.bucket;
    const uint64_t last = std::min<uint64_t>(numel_, first + q.bucket);
    double sq = 0;
    for (uint64_t i = first; i < last; ++i)
      sq += static_cast<double>(v[i]) * v[i];
    const auto norm = static_cast<float>(std::sqrt(sq));
    buf->norms[b] = norm;
    if (norm == 0)
      continue;
    for (uint64_t i = first; i < last; ++i) {
      // Stochastic rounding of |v|/norm * s to a neighbouring level keeps
      // the decoded value unbiased.
      const float r = std::abs(v[i]) / norm * s;
      auto level = static_cast<int>(r);
      if (uniform01(rng_state_) < r - static_cast<float>(level))
        ++level;
      level = std::min(level, static_cast<int>(q.levels));
      const int code = v[i] < 0 ? -level : level;
      if (q.bits == 8) {
        buf->codes[i] = static_cast<uint8_t>(static_cast<int8_t>(code));
      } else {
        const auto nib = static_cast<uint8_t>(code & 0x0f);
        buf->codes[i / 2] |= static_cast<uint8_t>(i % 2 == 0 ? nib : nib << 4);
      }
    }
  }
  q.norms = span<const float>{buf->norms};
  q.codes = span<const uint8_t>{buf->codes};
  out.owner = buf;
  return out;
}

encoded_tensor compressor::half(span<const float> v, bool bf16) {
  auto buf = std::make_shared<encoded_buffers>();
  buf->half.resize(numel_);
  for (size_t i = 0; i < numel_; ++i)
    buf->half[i] = bf16 ? to_bfloat16(v[i]) : to_half(v[i]);
  encoded_tensor out;
  out.encoding = bf16 ? tensor_encoding::bfloat16 : tensor_encoding::float16;
  out.numel = numel_;
  out.half = span<const uint16_t>{buf->half};
  out.owner = buf;
  return out;
}

} // namespace fl
