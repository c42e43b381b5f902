// A model from PyTorch: any module saved with torch.jit.script(...).save()
// trains without C++ (`fl-node sim --model mlp.pt`). This program writes
// such a file itself (the C++ twin of the Python export below), then trains
// it on Fashion-MNIST for 3 rounds through the embedding API.
//
//   class MLP(torch.nn.Module):            # Python, for comparison
//       def __init__(self):
//           super().__init__()
//           self.fc1 = torch.nn.Linear(784, 64)
//           self.fc2 = torch.nn.Linear(64, 10)
//       def forward(self, x):
//           return self.fc2(torch.relu(self.fc1(x.reshape(x.size(0), -1))))
//   torch.jit.script(MLP()).save("mlp.pt")
//
//   build: see examples/CMakeLists.txt; run: ./torchscript_model [mlp.pt]
#include <cstdio>

#include <torch/script.h>
#include <torch/torch.h>

#include <fedactor/fedactor.hpp>

namespace {

void save_mlp(const std::string& path) {
  torch::manual_seed(0);
  torch::nn::Linear fc1{784, 64}, fc2{64, 10}; // PyTorch's initialisation
  torch::jit::Module m{"MLP"};
  m.register_parameter("fc1_weight", fc1->weight.detach(), false);
  m.register_parameter("fc1_bias", fc1->bias.detach(), false);
  m.register_parameter("fc2_weight", fc2->weight.detach(), false);
  m.register_parameter("fc2_bias", fc2->bias.detach(), false);
  m.define(R"JIT(
def forward(self, x):
    h = torch.relu(torch.matmul(x.reshape([x.size(0), -1]),
                                self.fc1_weight.t()) + self.fc1_bias)
    return torch.matmul(h, self.fc2_weight.t()) + self.fc2_bias
)JIT");
  m.save(path);
}

} // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "mlp.pt";
  save_mlp(path);
  fedactor::federation fed;
  fed.set("training.model", path); // the only change from the built-in MLP
  fed.set("federation.rounds", "3");
  auto result = fed.simulate();
  if (!result) {
    std::fprintf(stderr, "%s\n", fedactor::describe(result.error()).c_str());
    return 1;
  }
  for (const auto& r : result->rounds)
    std::printf("round %llu  test accuracy %.4f\n",
                static_cast<unsigned long long>(r.round), r.test_accuracy);
  return result->final_accuracy > 0.5 ? 0 : 1;
}
