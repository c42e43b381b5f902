#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "runtime/training/torch_binding.hpp"

using namespace fl;

namespace {

struct tiny : torch::nn::Module {
  tiny() {
    fc1 = register_module("fc1", torch::nn::Linear(4, 3));
    fc2 = register_module("fc2", torch::nn::Linear(3, 2));
  }
  torch::Tensor forward(torch::Tensor x) {
    return fc2->forward(torch::relu(fc1->forward(x)));
  }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};

} // namespace

TEST_CASE("module parameters become views into one flat buffer", "[torch]") {
  torch::manual_seed(0);
  tiny m;
  auto before = m.fc1->weight.clone();
  auto flat = bind_flat(m);
  // Layout follows named_parameters order; values were kept.
  REQUIRE(flat.layout().layers().size() == 4);
  CHECK(flat.layout().layers()[0].name == "fc1.weight");
  CHECK(flat.size() == 4 * 3 + 3 + 3 * 2 + 2);
  CHECK(torch::equal(m.fc1->weight, before));
  CHECK(m.fc1->weight.data_ptr<float>() == flat.data());
  // Writing the buffer changes the module...
  flat.data()[0] = 42.0f;
  CHECK(m.fc1->weight[0][0].item<float>() == 42.0f);
  // ...and an optimizer step writes into the buffer.
  torch::optim::SGD opt{m.parameters(), torch::optim::SGDOptions(0.1)};
  auto copy = std::vector<float>(flat.data(), flat.data() + flat.size());
  auto loss = m.forward(torch::ones({5, 4})).sum();
  opt.zero_grad();
  loss.backward();
  opt.step();
  bool changed = false;
  for (size_t i = 0; i < flat.size(); ++i)
    changed |= flat.data()[i] != copy[i];
  CHECK(changed);
  CHECK(m.fc2->bias.data_ptr<float>()
        == flat.data() + flat.layout().layers()[3].offset);
}
