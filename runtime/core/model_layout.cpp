#include "runtime/core/model_layout.hpp"

#include <limits>

#include "runtime/core/errors.hpp"
#include "runtime/core/hashing.hpp"

namespace fl {

uint64_t layer_spec::numel() const {
  uint64_t n = 1;
  for (auto d : shape)
    n *= static_cast<uint64_t>(d);
  return n;
}

uint64_t model_layout::add(std::string name, std::vector<int64_t> shape) {
  layer_spec spec{std::move(name), std::move(shape), numel_};
  numel_ += spec.numel();
  layers_.push_back(std::move(spec));
  rehash();
  return layers_.back().offset;
}

void model_layout::rehash() {
  // FNV-1a over every name and dimension: cheap, stable across platforms and
  // builds, and sensitive to order, names and shapes.
  fnv1a64 h;
  for (const auto& l : layers_) {
    h.add(l.name.data(), l.name.size());
    h.add_value(static_cast<uint64_t>(l.shape.size()));
    for (auto d : l.shape)
      h.add_value(d);
  }
  hash_ = h.value();
}

caf::expected<model_layout>
model_layout::make(std::vector<std::pair<std::string, std::vector<int64_t>>> xs) {
  constexpr uint64_t max_numel = uint64_t{1} << 62;
  model_layout result;
  for (auto& [name, shape] : xs) {
    uint64_t n = 1;
    for (auto d : shape) {
      if (d <= 0)
        return make_fl_error(errc::invalid_field,
                             "layer '" + name + "' has dimension "
                               + std::to_string(d));
      if (n > max_numel / static_cast<uint64_t>(d))
        return make_fl_error(errc::invalid_field,
                             "layer '" + name + "' is too large");
      n *= static_cast<uint64_t>(d);
    }
    if (result.numel_ > max_numel - n)
      return make_fl_error(errc::invalid_field, "model is too large");
    layer_spec spec{std::move(name), std::move(shape), result.numel_};
    result.numel_ += n;
    result.layers_.push_back(std::move(spec));
  }
  result.rehash();
  return result;
}

model_layout flat_layout(uint64_t n) {
  model_layout result;
  result.add("flat", {static_cast<int64_t>(n)});
  return result;
}

} // namespace fl
