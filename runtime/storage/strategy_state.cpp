#include "runtime/storage/strategy_state.hpp"

#include "runtime/core/errors.hpp"
#include "runtime/storage/checkpoint.hpp"

namespace fl {

caf::error save_strategy_state(const std::string& path,
                               const strategy_state& s) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> specs;
  size_t total = 0;
  for (const auto& [name, v] : s.vectors)
    if (!v.empty()) {
      specs.emplace_back(name, std::vector<int64_t>{
                                 static_cast<int64_t>(v.size())});
      total += v.size();
    }
  if (specs.empty()) // a checkpoint needs one layer: a marker
    specs.emplace_back("empty", std::vector<int64_t>{1});
  auto layout = model_layout::make(std::move(specs));
  if (!layout)
    return std::move(layout.error());
  std::vector<float> values;
  values.reserve(std::max<size_t>(total, 1));
  for (const auto& [name, v] : s.vectors)
    values.insert(values.end(), v.begin(), v.end());
  if (values.empty())
    values.push_back(0);
  return save_checkpoint(path, *layout, span<const float>{values},
                         s.model_version, 0);
}

caf::expected<strategy_state> load_strategy_state(const std::string& path) {
  auto ckpt = load_checkpoint(path);
  if (!ckpt)
    return std::move(ckpt.error());
  strategy_state s;
  s.model_version = ckpt->model_version;
  const auto values = ckpt->model.values();
  for (const auto& l : ckpt->model.layout().layers()) {
    if (l.name == "empty")
      continue;
    s.vectors.emplace_back(l.name,
                           std::vector<float>(values.begin() + l.offset,
                                              values.begin() + l.offset
                                                + l.numel()));
  }
  return s;
}

std::string strategy_state_path(const std::string& dir) {
  return dir + "/strategy.ckpt";
}

} // namespace fl
