// Writes the built-in MLP (784-200-200-10, seeded as `fl-node sim` seeds
// it) as a TorchScript file, so that `--model mlp` and `--model FILE.pt`
// start from the same weights and can be compared run for run:
//   fl_bench_export_mlp PATH [SEED]
#include <cstdio>
#include <cstdlib>

#include <torch/script.h>
#include <torch/torch.h>

#include "runtime/training/models.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PATH [SEED]\n", argv[0]);
    return 2;
  }
  torch::manual_seed(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 0);
  auto mlp = fl::make_model("mlp");
  if (!mlp) {
    std::fprintf(stderr, "cannot build the MLP\n");
    return 1;
  }
  torch::jit::Module m{"MLP"};
  for (const auto& p : (*mlp)->named_parameters(/*recurse=*/true)) {
    // "fc1.weight" -> "fc1_weight": attribute names have no dots.
    auto name = p.key();
    name[name.find('.')] = '_';
    m.register_parameter(name, p.value().detach().clone(), false);
  }
  m.define(R"JIT(
def forward(self, x):
    h = x.reshape([x.size(0), 784])
    h = torch.relu(torch.addmm(self.fc1_bias, h, self.fc1_weight.t()))
    h = torch.relu(torch.addmm(self.fc2_bias, h, self.fc2_weight.t()))
    return torch.addmm(self.fc3_bias, h, self.fc3_weight.t())
)JIT");
  m.save(argv[1]);
  return 0;
}
