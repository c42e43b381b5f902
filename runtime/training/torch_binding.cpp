#include "runtime/training/torch_binding.hpp"

#include <cstring>

#include <torch/torch.h>

namespace fl {

flat_model bind_flat(torch::nn::Module& module) {
  model_layout layout;
  auto params = module.named_parameters(/*recurse=*/true);
  for (const auto& p : params) {
    auto sizes = p.value().sizes();
    layout.add(p.key(), std::vector<int64_t>(sizes.begin(), sizes.end()));
  }
  flat_model flat{layout};
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (auto& p : params) {
    const auto& spec = flat.layout().layers()[i++];
    auto& tensor = p.value();
    auto src = tensor.detach().to(torch::kFloat32).contiguous();
    float* dst = flat.data() + spec.offset;
    std::memcpy(dst, src.data_ptr<float>(), spec.numel() * sizeof(float));
    // A non-owning view: the flat_model owns the bytes.
    tensor.set_data(torch::from_blob(dst, tensor.sizes(),
                                     torch::TensorOptions{}.dtype(
                                       torch::kFloat32)));
  }
  return flat;
}

} // namespace fl
