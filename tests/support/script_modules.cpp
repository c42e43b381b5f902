#include "support/script_modules.hpp"

#include <torch/script.h>
#include <torch/torch.h>

namespace fl::test {

void save_linear_module(const std::string& path, int64_t inputs,
                               int64_t outputs) {
  torch::manual_seed(3);
  torch::jit::Module m{"Linear"};
  m.register_parameter("weight", torch::randn({outputs, inputs}) * 0.01,
                       false);
  m.register_parameter("bias", torch::zeros({outputs}), false);
  m.register_buffer("scale", torch::ones({inputs}));
  m.register_buffer("calls", torch::zeros({1}, torch::kInt64));
  m.define(R"JIT(
def forward(self, x):
    h = x.reshape([x.size(0), -1]) * self.scale
    return torch.matmul(h, self.weight.t()) + self.bias
)JIT");
  m.save(path);
}

void save_conv_module(const std::string& path, int64_t side,
                      int64_t classes) {
  torch::manual_seed(4);
  const int64_t flat = 4 * (side - 2) * (side - 2);
  torch::jit::Module m{"Conv"};
  m.register_parameter("conv_w", torch::randn({4, 1, 3, 3}) * 0.3, false);
  m.register_parameter("conv_b", torch::zeros({4}), false);
  m.register_parameter("fc_w", torch::randn({classes, flat}) * 0.05, false);
  m.register_parameter("fc_b", torch::zeros({classes}), false);
  m.define(R"JIT(
def forward(self, x):
    h = torch.relu(torch.conv2d(x, self.conv_w, self.conv_b))
    h = h.reshape([x.size(0), -1])
    return torch.matmul(h, self.fc_w.t()) + self.fc_b
)JIT");
  m.save(path);
}

void save_summing_module(const std::string& path, int64_t inputs) {
  torch::jit::Module m{"Summing"};
  m.register_parameter("weight", torch::ones({inputs}), false);
  m.define(R"JIT(
def forward(self, x):
    return (x.reshape([x.size(0), -1]) * self.weight).sum(1)
)JIT");
  m.save(path);
}

void save_module_without_forward(const std::string& path) {
  torch::jit::Module m{"NoForward"};
  m.register_parameter("weight", torch::ones({2}), false);
  m.define(R"JIT(
def predict(self, x):
    return x * self.weight
)JIT");
  m.save(path);
}

} // namespace fl::test
