#pragma once

#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/core/model_layout.hpp"
#include "runtime/core/span.hpp"

namespace fl {

/// Folds updates into a weighted sum and produces the weighted mean; also
/// applies FedAsync mixing. The CPU implementation is the reference; the
/// CUDA one must match it. The CPU sum is exact and order-independent
/// (runtime/aggregation/aggregate.hpp): callers keep the weights of one sum
/// at most `exact_weight_limit` (4) and it refuses updates with values
/// beyond `exact_value_limit` (2^21). The CUDA sum is float, in arrival
/// order. Implementations own their accumulator (host or
/// device memory, O(model)). Not thread-safe: one owner at a time.
class aggregator {
public:
  virtual ~aggregator() = default;

  /// e.g. "cpu (2 threads)" or "cuda bucket-flatten x4 streams".
  virtual std::string name() const = 0;

  /// Starts a new sum for models with `layout` (zeroes the accumulator).
  virtual caf::error begin(const model_layout& layout) = 0;

  /// acc += weight * update. Errors: `size_mismatch`; device errors.
  virtual caf::error fold(span<const float> update, double weight) = 0;

  /// Takes back a fold that succeeded: acc -= weight * update (exactly,
  /// for an exact sum). For a caller that folds two spans as one update
  /// and must undo the first when the second is refused.
  virtual caf::error unfold(span<const float> update, double weight) {
    return fold(update, -weight);
  }

  /// Folds one update in pieces (a compressed update is decoded block by
  /// block, never whole): acc[offset + i] += weight * part[i] (or -= with
  /// `subtract`, which undoes it exactly). The sum's weight changes only
  /// through add_weight, once per update. Errors: `size_mismatch`;
  /// `rejected_update` when a value is out of range (nothing of this part
  /// stays folded); `not_implemented` for backends without partial folds
  /// (the default).
  virtual caf::error fold_part(uint64_t offset, span<const float> part,
                               double weight, bool subtract = false);

  /// The same for the kept entries of a top-k update: acc[offset + idx[i]]
  /// += weight * values[i].
  virtual caf::error fold_entries(uint64_t offset, span<const uint32_t> idx,
                                  span<const float> values, double weight,
                                  bool subtract = false);

  /// Adds `weight` (negative: takes it back) to the sum's weight after an
  /// update was folded in parts. Default: `not_implemented`.
  virtual caf::error add_weight(double weight);

  /// out = acc / (sum of weights). Errors: `invalid_field` with no weight.
  virtual caf::error finalize(span<float> out) = 0;

  /// global = (1 - alpha) global + alpha update (FedAsync).
  virtual caf::error mix(span<float> global, span<const float> update,
                         double alpha) = 0;
};

/// How the CUDA aggregator splits a flat model into transfers and kernels
/// (after xFFL's aggregation strategies).
enum class bucket_strategy : uint8_t {
  layer_by_layer, ///< one transfer + kernel per layer
  bucket_flatten, ///< consecutive layers packed into buckets >= bucket size
  bucket_coalesced, ///< fixed-size buckets that ignore layer boundaries
  size_balanced,  ///< one equal-size bucket per stream
};

std::string to_string(bucket_strategy x);

/// Parses "layer-by-layer", "bucket-flatten", "bucket-coalesced" or
/// "size-balanced". Errors: `invalid_config`.
caf::expected<bucket_strategy> parse_bucket_strategy(const std::string& x);

/// One contiguous range of the flat model and the stream that moves it.
struct bucket {
  uint64_t offset = 0; ///< first element
  uint64_t count = 0;  ///< elements
  uint32_t stream = 0;
};

/// Splits `layout` into buckets for `streams` streams (round-robin). Pure.
/// The buckets are contiguous, in order, and cover the model exactly once.
std::vector<bucket> plan_buckets(const model_layout& layout,
                                 bucket_strategy strategy, uint32_t streams,
                                 uint64_t bucket_elements);

/// What `make_aggregator` builds.
struct aggregator_options {
  std::string device = "auto"; ///< auto | cpu | cuda
  size_t cpu_threads = 0;      ///< 0 = hardware threads
  bucket_strategy strategy = bucket_strategy::bucket_flatten;
  uint32_t streams = 4;
  uint64_t bucket_elements = uint64_t{4} << 20; ///< 16 MiB of floats
};

/// The CPU aggregator (always available).
std::unique_ptr<aggregator> make_cpu_aggregator(size_t threads);

/// The CUDA aggregator on device 0.
/// Errors: `not_implemented` when built without CUDA; `io_error` with the
/// CUDA runtime's message when no device or driver is usable.
caf::expected<std::unique_ptr<aggregator>>
make_cuda_aggregator(const aggregator_options& opts);

/// Builds the aggregator `opts.device` asks for. With "auto", a CUDA failure
/// falls back to the CPU and `fallback_reason` (if given) says why.
/// Errors: with "cuda", whatever make_cuda_aggregator reports.
caf::expected<std::unique_ptr<aggregator>>
make_aggregator(const aggregator_options& opts,
                std::string* fallback_reason = nullptr);

} // namespace fl
