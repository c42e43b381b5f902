#include "runtime/training/torch_binding.hpp"

#include <cstring>

#include <torch/torch.h>

namespace fl {

flat_model
bind_flat(const std::vector<std::pair<std::string, torch::Tensor>>& state) {
  model_layout layout;
  for (const auto& [name, tensor] : state) {
    auto sizes = tensor.sizes();
    layout.add(name, std::vector<int64_t>(sizes.begin(), sizes.end()));
  }
  flat_model flat{layout};
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (const auto& entry : state) {
    const auto& spec = flat.layout().layers()[i++];
    auto tensor = entry.second;
    auto src = tensor.detach().to(torch::kFloat32).contiguous();
    float* dst = flat.data() + spec.offset;
    std::memcpy(dst, src.data_ptr<float>(), spec.numel() * sizeof(float));
    // A non-owning view: the flat_model owns the bytes. set_data swaps the
    // storage of the module's own tensor, so the module sees the view.
    tensor.set_data(torch::from_blob(dst, tensor.sizes(),
                                     torch::TensorOptions{}.dtype(
                                       torch::kFloat32)));
  }
  return flat;
}

flat_model bind_flat(torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& p : module.named_parameters(/*recurse=*/true))
    state.emplace_back(p.key(), p.value());
  return bind_flat(state);
}

} // namespace fl
