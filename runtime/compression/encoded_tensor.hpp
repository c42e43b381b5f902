#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "runtime/core/span.hpp"

namespace fl {

/// How the values of a compressed update travel (messages/fl.capnp,
/// Tensor.packed). A dense float32 tensor is not an encoded_tensor: it stays
/// a plain span.
enum class tensor_encoding : uint8_t {
  float16,  ///< IEEE binary16 per value
  bfloat16, ///< the upper half of a float32 per value
  topk,     ///< (index, value) pairs of the kept entries; the rest are 0
  qsgd,     ///< per bucket an L2 norm, per value a signed level
};

/// "fp16", "bf16", "topk" or "qsgd".
std::string to_string(tensor_encoding x);

/// Kept entries of a top-k tensor: indices relative to `offset` (so that
/// models above 2^32 values need several parts), strictly increasing.
struct sparse_part {
  uint64_t offset = 0;
  span<const uint32_t> indices;
  span<const float> values;
};

/// QSGD (Alistarh et al. 2017, "QSGD: Communication-Efficient SGD via
/// Gradient Quantization and Encoding", arXiv:1610.02132): value i of
/// bucket b decodes to norms[b] * level_i / levels, with level_i a signed
/// integer in [-levels, levels] stored in `bits` (8: one int8 per value; 4:
/// two's-complement nibbles, low nibble first).
struct qsgd_payload {
  uint32_t levels = 0; ///< s: 1..127 with 8 bits, 1..7 with 4 bits
  uint32_t bits = 8;   ///< 4 or 8
  uint32_t bucket = 0; ///< values per norm, >= 1
  span<const float> norms;
  span<const uint8_t> codes;
};

/// A compressed tensor of `numel` values, as views (into a received frame or
/// a compressor's buffers, kept alive by `owner`). Built by decode() from the
/// wire or by a compressor; readers only go through the functions below, so
/// no receiver builds a dense copy of the whole update.
struct encoded_tensor {
  tensor_encoding encoding = tensor_encoding::float16;
  uint64_t numel = 0;
  span<const uint16_t> half;       ///< float16 / bfloat16: numel values
  std::vector<sparse_part> sparse; ///< topk
  qsgd_payload qsgd;               ///< qsgd
  std::shared_ptr<const void> owner;
};

/// Checks that the payload describes exactly `numel` values: counts match,
/// indices in range and strictly increasing (across parts too), levels and
/// bits in range, every code within +-levels, norms and values finite and
/// norms >= 0. Errors: `size_mismatch`, `invalid_field`,
/// `non_finite_value`.
caf::error validate(const encoded_tensor& t, const std::string& field);

/// Bytes of the payload on the wire (values, indices, norms, codes).
uint64_t payload_bytes(const encoded_tensor& t);

/// Calls f(offset, values) for consecutive dense blocks of at most `block`
/// values that together cover [0, numel) (top-k: zeros with the kept
/// entries scattered in). Decodes into one scratch buffer of `block`
/// floats: the whole update is never materialised. REQUIRES: a validated
/// tensor.
void for_each_block(const encoded_tensor& t, size_t block,
                    const std::function<void(uint64_t, span<const float>)>& f);

/// Calls f(offset, indices, values) for each part of a top-k tensor.
void for_each_sparse(
  const encoded_tensor& t,
  const std::function<void(uint64_t, span<const uint32_t>, span<const float>)>&
    f);

/// Visits every value that may be non-zero: blocks for dense encodings,
/// kept entries for top-k, as f(index, value) in index order.
void for_each_value(const encoded_tensor& t,
                    const std::function<void(uint64_t, float)>& f);

/// The L2 norm and the largest |value| of the decoded tensor.
struct value_summary {
  double l2 = 0;
  double max_abs = 0;
};
value_summary summarize(const encoded_tensor& t);

/// out = decoded values (numel). For a receiver that must keep the update
/// whole anyway (a robust rule), and for tests.
caf::error decode_into(const encoded_tensor& t, span<float> out);

/// IEEE binary16 and bfloat16 conversions, rounding to nearest even.
uint16_t to_half(float x);
float from_half(uint16_t h);
uint16_t to_bfloat16(float x);
float from_bfloat16(uint16_t h);

} // namespace fl
