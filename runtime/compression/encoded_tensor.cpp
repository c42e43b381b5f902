#include "runtime/compression/encoded_tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

caf::error bad(errc code, const std::string& field, const std::string& what) {
  return make_fl_error(code, field + ": " + what);
}

/// The signed level of value i of a qsgd payload.
int qsgd_code(const qsgd_payload& q, uint64_t i) {
  if (q.bits == 8)
    return static_cast<int8_t>(q.codes[i]);
  const uint8_t byte = q.codes[i / 2];
  const int nibble = (i % 2 == 0) ? (byte & 0x0f) : (byte >> 4);
  return nibble >= 8 ? nibble - 16 : nibble;
}

uint64_t qsgd_code_bytes(uint64_t numel, uint32_t bits) {
  return bits == 8 ? numel : (numel + 1) / 2;
}

} // namespace

std::string to_string(tensor_encoding x) {
  switch (x) {
    case tensor_encoding::float16: return "fp16";
    case tensor_encoding::bfloat16: return "bf16";
    case tensor_encoding::topk: return "topk";
    case tensor_encoding::qsgd: return "qsgd";
  }
  return "?";
}

uint16_t to_half(float x) {
  uint32_t f;
  std::memcpy(&f, &x, 4);
  const uint32_t sign = (f >> 16) & 0x8000u;
  const uint32_t abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u) // Inf or NaN
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0));
  if (abs >= 0x477ff000u) // rounds beyond 65504: Inf
    return static_cast<uint16_t>(sign | 0x7c00u);
  if (abs < 0x38800000u) { // subnormal half (or zero)
    const uint32_t shift = 113 - (abs >> 23);
    if (shift > 24)
      return static_cast<uint16_t>(sign);
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    uint32_t h = mant >> (shift + 13);
    const uint32_t rest = mant & ((1u << (shift + 13)) - 1);
    const uint32_t half = 1u << (shift + 12);
    if (rest > half || (rest == half && (h & 1u)))
      ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = ((abs - 0x38000000u) >> 13);
  const uint32_t rest = abs & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
    ++h;
  return static_cast<uint16_t>(sign | h);
}

float from_half(uint16_t h) {
  const uint32_t sign = (uint32_t{h} & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  uint32_t f;
  if (exp == 0) {
    if (mant == 0) {
      f = sign;
    } else { // subnormal: normalise
      float v = std::ldexp(static_cast<float>(mant), -24);
      std::memcpy(&f, &v, 4);
      f |= sign;
    }
  } else if (exp == 31) {
    f = sign | 0x7f800000u | (mant << 13);
  } else {
    f = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float x;
  std::memcpy(&x, &f, 4);
  return x;
}

uint16_t to_bfloat16(float x) {
  uint32_t f;
  std::memcpy(&f, &x, 4);
  if ((f & 0x7fffffffu) > 0x7f800000u) // NaN stays NaN
    return static_cast<uint16_t>((f >> 16) | 0x40u);
  const uint32_t rounding = 0x7fffu + ((f >> 16) & 1u);
  return static_cast<uint16_t>((f + rounding) >> 16);
}

float from_bfloat16(uint16_t h) {
  const uint32_t f = uint32_t{h} << 16;
  float x;
  std::memcpy(&x, &f, 4);
  return x;
}

caf::error validate(const encoded_tensor& t, const std::string& field) {
  switch (t.encoding) {
    case tensor_encoding::float16:
    case tensor_encoding::bfloat16: {
      if (t.half.size() != t.numel)
        return bad(errc::size_mismatch, field,
                   fmt::format("{} values for {} elements", t.half.size(),
                               t.numel));
      const bool fp16 = t.encoding == tensor_encoding::float16;
      for (auto h : t.half) {
        const bool special = fp16 ? (h & 0x7c00u) == 0x7c00u
                                  : (h & 0x7f80u) == 0x7f80u;
        if (special)
          return bad(errc::non_finite_value, field, "holds NaN or Inf");
      }
      return caf::none;
    }
    case tensor_encoding::topk: {
      if (t.sparse.empty())
        return bad(errc::size_mismatch, field, "has no sparse part");
      uint64_t next = 0; // the smallest index the next entry may have
      uint64_t kept = 0;
      for (const auto& p : t.sparse) {
        if (p.indices.size() != p.values.size())
          return bad(errc::size_mismatch, field,
                     fmt::format("a part has {} indices and {} values",
                                 p.indices.size(), p.values.size()));
        if (p.offset > t.numel)
          return bad(errc::invalid_field, field,
                     fmt::format("part offset {} beyond {} elements",
                                 p.offset, t.numel));
        for (size_t i = 0; i < p.indices.size(); ++i) {
          const uint64_t at = p.offset + p.indices[i];
          if (at >= t.numel)
            return bad(errc::invalid_field, field,
                       fmt::format("index {} out of range (numel {})", at,
                                   t.numel));
          if (at < next)
            return bad(errc::invalid_field, field,
                       fmt::format("index {} is not above the one before "
                                   "(indices must strictly increase)",
                                   at));
          if (!std::isfinite(p.values[i]))
            return bad(errc::non_finite_value, field, "holds NaN or Inf");
          next = at + 1;
        }
        kept += p.indices.size();
      }
      if (kept > t.numel)
        return bad(errc::size_mismatch, field, "keeps more than numel");
      return caf::none;
    }
    case tensor_encoding::qsgd: {
      const auto& q = t.qsgd;
      if (q.bits != 8 && q.bits != 4)
        return bad(errc::invalid_field, field,
                   fmt::format("qsgd bits = {} (4 or 8)", q.bits));
      const uint32_t max_levels = q.bits == 8 ? 127 : 7;
      if (q.levels < 1 || q.levels > max_levels)
        return bad(errc::invalid_field, field,
                   fmt::format("qsgd levels = {} (1..{} with {} bits)",
                               q.levels, max_levels, q.bits));
      if (q.bucket < 1)
        return bad(errc::invalid_field, field, "qsgd bucket = 0");
      const uint64_t buckets = (t.numel + q.bucket - 1) / q.bucket;
      if (q.norms.size() != buckets)
        return bad(errc::size_mismatch, field,
                   fmt::format("{} norms for {} buckets", q.norms.size(),
                               buckets));
      if (q.codes.size() != qsgd_code_bytes(t.numel, q.bits))
        return bad(errc::size_mismatch, field,
                   fmt::format("{} code bytes for {} values", q.codes.size(),
                               t.numel));
      for (auto n : q.norms)
        if (!std::isfinite(n) || n < 0)
          return bad(errc::invalid_field, field,
                     "a qsgd norm is negative or not finite");
      const int lim = static_cast<int>(q.levels);
      for (uint64_t i = 0; i < t.numel; ++i) {
        const int c = qsgd_code(q, i);
        if (c > lim || c < -lim)
          return bad(errc::invalid_field, field,
                     fmt::format("qsgd level {} at {} is outside +-{}", c, i,
                                 lim));
      }
      if (q.bits == 4 && t.numel % 2 == 1 && (q.codes[q.codes.size() - 1] >> 4) != 0)
        return bad(errc::invalid_field, field, "qsgd padding nibble is set");
      return caf::none;
    }
  }
  return bad(errc::unknown_enum_value, field, "unknown encoding");
}

uint64_t payload_bytes(const encoded_tensor& t) {
  switch (t.encoding) {
    case tensor_encoding::float16:
    case tensor_encoding::bfloat16: return t.half.size_bytes();
    case tensor_encoding::topk: {
      uint64_t n = 0;
      for (const auto& p : t.sparse)
        n += p.indices.size_bytes() + p.values.size_bytes() + 8;
      return n;
    }
    case tensor_encoding::qsgd:
      return t.qsgd.norms.size_bytes() + t.qsgd.codes.size_bytes();
  }
  return 0;
}

void for_each_block(const encoded_tensor& t, size_t block,
                    const std::function<void(uint64_t, span<const float>)>& f) {
  block = std::max<size_t>(block, 1);
  std::vector<float> scratch(std::min<uint64_t>(block, t.numel));
  size_t part = 0, entry = 0; // top-k cursor
  for (uint64_t first = 0; first < t.numel; first += block) {
    const auto n = static_cast<size_t>(std::min<uint64_t>(block,
                                                          t.numel - first));
    span<float> out{scratch.data(), n};
    switch (t.encoding) {
      case tensor_encoding::float16:
        for (size_t i = 0; i < n; ++i)
          out[i] = from_half(t.half[first + i]);
        break;
      case tensor_encoding::bfloat16:
        for (size_t i = 0; i < n; ++i)
          out[i] = from_bfloat16(t.half[first + i]);
        break;
      case tensor_encoding::qsgd: {
        const auto& q = t.qsgd;
        const auto s = static_cast<float>(q.levels);
        for (size_t i = 0; i < n; ++i) {
          const uint64_t at = first + i;
          out[i] = q.norms[at / q.bucket]
                   * static_cast<float>(qsgd_code(q, at)) / s;
        }
        break;
      }
      case tensor_encoding::topk:
        std::fill(out.begin(), out.end(), 0.0f);
        // Scatter the kept entries that fall into this block (entries are
        // in index order, so one cursor walks them once).
        while (part < t.sparse.size()) {
          const auto& p = t.sparse[part];
          if (entry == p.indices.size()) {
            ++part;
            entry = 0;
            continue;
          }
          const uint64_t at = p.offset + p.indices[entry];
          if (at >= first + n)
            break;
          out[at - first] = p.values[entry];
          ++entry;
        }
        break;
    }
    f(first, span<const float>{out.data(), n});
  }
}

void for_each_sparse(
  const encoded_tensor& t,
  const std::function<void(uint64_t, span<const uint32_t>, span<const float>)>&
    f) {
  for (const auto& p : t.sparse)
    f(p.offset, p.indices, p.values);
}

void for_each_value(const encoded_tensor& t,
                    const std::function<void(uint64_t, float)>& f) {
  if (t.encoding == tensor_encoding::topk) {
    for (const auto& p : t.sparse)
      for (size_t i = 0; i < p.indices.size(); ++i)
        f(p.offset + p.indices[i], p.values[i]);
    return;
  }
  for_each_block(t, 1u << 16, [&](uint64_t first, span<const float> xs) {
    for (size_t i = 0; i < xs.size(); ++i)
      f(first + i, xs[i]);
  });
}

value_summary summarize(const encoded_tensor& t) {
  value_summary s;
  double sq = 0;
  for_each_value(t, [&](uint64_t, float x) {
    const double d = x;
    sq += d * d;
    s.max_abs = std::max(s.max_abs, std::abs(d));
  });
  s.l2 = std::sqrt(sq);
  return s;
}

caf::error decode_into(const encoded_tensor& t, span<float> out) {
  if (out.size() != t.numel)
    return make_fl_error(errc::size_mismatch,
                         "decode: output has the wrong size");
  if (t.encoding == tensor_encoding::topk)
    std::fill(out.begin(), out.end(), 0.0f);
  for_each_value(t, [&](uint64_t i, float x) { out[i] = x; });
  return caf::none;
}

} // namespace fl
