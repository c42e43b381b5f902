#include "runtime/aggregation/aggregator.hpp"

#include <algorithm>

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

caf::error no_partial_folds(const aggregator& a) {
  return make_fl_error(errc::not_implemented,
                       a.name() + " folds whole dense updates only; "
                       "compressed updates need the CPU aggregator "
                       "(--device cpu)");
}

} // namespace

caf::error aggregator::fold_part(uint64_t, span<const float>, double, bool) {
  return no_partial_folds(*this);
}

caf::error aggregator::fold_entries(uint64_t, span<const uint32_t>,
                                    span<const float>, double, bool) {
  return no_partial_folds(*this);
}

caf::error aggregator::add_weight(double) {
  return no_partial_folds(*this);
}


std::string to_string(bucket_strategy x) {
  switch (x) {
    case bucket_strategy::layer_by_layer: return "layer-by-layer";
    case bucket_strategy::bucket_flatten: return "bucket-flatten";
    case bucket_strategy::bucket_coalesced: return "bucket-coalesced";
    case bucket_strategy::size_balanced: return "size-balanced";
  }
  return "unknown";
}

caf::expected<bucket_strategy> parse_bucket_strategy(const std::string& x) {
  for (auto s : {bucket_strategy::layer_by_layer,
                 bucket_strategy::bucket_flatten,
                 bucket_strategy::bucket_coalesced,
                 bucket_strategy::size_balanced})
    if (to_string(s) == x)
      return s;
  return make_fl_error(errc::invalid_config,
                       "unknown aggregation strategy '" + x
                         + "' (expected layer-by-layer, bucket-flatten, "
                           "bucket-coalesced or size-balanced)");
}

std::vector<bucket> plan_buckets(const model_layout& layout,
                                 bucket_strategy strategy, uint32_t streams,
                                 uint64_t bucket_elements) {
  std::vector<bucket> out;
  streams = std::max<uint32_t>(1, streams);
  bucket_elements = std::max<uint64_t>(1, bucket_elements);
  const uint64_t n = layout.numel();
  auto push = [&](uint64_t first, uint64_t count) {
    if (count > 0)
      out.push_back(bucket{first, count,
                           static_cast<uint32_t>(out.size() % streams)});
  };
  switch (strategy) {
    case bucket_strategy::layer_by_layer:
      for (const auto& l : layout.layers())
        push(l.offset, l.numel());
      break;
    case bucket_strategy::bucket_flatten: {
      uint64_t first = 0, size = 0;
      for (const auto& l : layout.layers()) {
        size += l.numel();
        if (size >= bucket_elements) {
          push(first, size);
          first += size;
          size = 0;
        }
      }
      push(first, size);
      break;
    }
    case bucket_strategy::bucket_coalesced:
      for (uint64_t first = 0; first < n; first += bucket_elements)
        push(first, std::min(bucket_elements, n - first));
      break;
    case bucket_strategy::size_balanced: {
      const uint64_t per = (n + streams - 1) / streams;
      for (uint64_t first = 0; first < n; first += per)
        push(first, std::min(per, n - first));
      break;
    }
  }
  return out;
}

caf::expected<std::unique_ptr<aggregator>>
make_aggregator(const aggregator_options& opts, std::string* fallback_reason) {
  if (opts.device == "cpu")
    return make_cpu_aggregator(opts.cpu_threads);
  auto gpu = make_cuda_aggregator(opts);
  if (gpu)
    return std::move(*gpu);
  if (opts.device == "cuda")
    return std::move(gpu.error());
  if (fallback_reason != nullptr)
    *fallback_reason = describe(gpu.error());
  return make_cpu_aggregator(opts.cpu_threads);
}

} // namespace fl
