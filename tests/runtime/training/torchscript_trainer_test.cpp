// TorchScript models (built in C++ and saved as a PyTorch user would) train
// through the torch trainer: classification with cross-entropy, regression
// with MSE; their parameters and float buffers form the flat model; files
// that cannot work are refused with a clear error.

#include <catch2/catch.hpp>

#include <numeric>
#include <random>

#include "runtime/core/errors.hpp"
#include "runtime/training/torch_trainer.hpp"
#include "support/script_modules.hpp"
#include "support/temp_files.hpp"

using namespace fl;

namespace {

/// `n` samples of 4 features per split. Classification: 3 well-separated
/// Gaussian blobs; regression: y = 2 x0 - x1 + 0.5 plus small noise.
std::shared_ptr<const dataset> blobs(task_kind task, int64_t n = 300) {
  auto d = std::make_shared<dataset>();
  d->task = task;
  d->num_classes = task == task_kind::classification ? 3 : 0;
  std::mt19937_64 rng{11};
  std::normal_distribution<float> noise{0, 0.3f};
  for (auto* s : {&d->train, &d->test}) {
    s->count = n;
    s->sample_shape = {4};
    for (int64_t i = 0; i < n; ++i) {
      const int64_t cls = i % 3;
      float x[4];
      for (int k = 0; k < 4; ++k)
        x[k] = noise(rng) + (task == task_kind::classification && k == cls
                               ? 3.0f
                               : 0.0f);
      s->features.insert(s->features.end(), x, x + 4);
      if (task == task_kind::classification) {
        s->labels.push_back(cls);
      } else {
        s->targets.push_back(2 * x[0] - x[1] + 0.5f + 0.01f * noise(rng));
        s->target_size = 1;
      }
    }
  }
  return d;
}

fit_input input(const std::vector<float>& global, int64_t n) {
  auto samples = std::make_shared<std::vector<int64_t>>(n);
  std::iota(samples->begin(), samples->end(), 0);
  fit_input in;
  in.global = span<const float>{global};
  in.samples = std::move(samples);
  in.seed = 1;
  in.config.epochs = 5;
  in.config.batch_size = 16;
  in.config.lr = 0.1;
  return in;
}

} // namespace

TEST_CASE("a TorchScript classifier trains with cross-entropy and improves",
          "[torch][torchscript]") {
  test::temp_dir dir;
  const auto path = dir.path("linear.pt");
  test::save_linear_module(path, 4, 3);
  auto t = torch_trainer::make(torch_model_spec{path},
                               blobs(task_kind::classification));
  REQUIRE(t);
  // Parameters first, then the float buffer; the integer one is left out.
  const auto& layers = (*t)->layout().layers();
  REQUIRE(layers.size() == 3);
  CHECK(layers[0].name == "weight");
  CHECK(layers[1].name == "bias");
  CHECK(layers[2].name == "scale");
  // The initial model is the file's values, whatever the seed.
  const auto initial = (*t)->initial_params(0);
  CHECK(initial == (*t)->initial_params(42));
  CHECK(initial.size() == 4 * 3 + 3 + 4);
  auto before = (*t)->evaluate(span<const float>{initial});
  REQUIRE(before);
  auto fitted = (*t)->fit(input(initial, 300));
  INFO((fitted ? std::string{} : describe(fitted.error())));
  REQUIRE(fitted);
  CHECK(fitted->metrics.local_steps == 5 * 19);
  auto after = (*t)->evaluate(span<const float>{*fitted->params});
  REQUIRE(after);
  CHECK(after->loss < before->loss / 2);
  CHECK(after->accuracy > 0.9);
  // The buffer travels untouched (nothing trains it).
  for (size_t i = 15; i < 19; ++i)
    CHECK((*fitted->params)[i] == 1.0f);
}

TEST_CASE("a TorchScript regression trains with MSE and reports R^2",
          "[torch][torchscript]") {
  test::temp_dir dir;
  const auto path = dir.path("reg.pt");
  test::save_linear_module(path, 4, 1);
  auto t = torch_trainer::make(torch_model_spec{path},
                               blobs(task_kind::regression));
  REQUIRE(t);
  const auto initial = (*t)->initial_params(0);
  auto before = (*t)->evaluate(span<const float>{initial});
  REQUIRE(before);
  // Features of spread 0.3 make plain SGD slow: 30 epochs.
  auto in = input(initial, 300);
  in.config.epochs = 30;
  auto fitted = (*t)->fit(in);
  INFO((fitted ? std::string{} : describe(fitted.error())));
  REQUIRE(fitted);
  auto after = (*t)->evaluate(span<const float>{*fitted->params});
  REQUIRE(after);
  CHECK(after->loss < before->loss / 10);
  CHECK(before->accuracy < 0.1);
  CHECK(after->accuracy > 0.95); // R^2
  // The learned weights approach y = 2 x0 - x1 + 0.5.
  CHECK((*fitted->params)[0] == Approx(2.0).margin(0.15));
  CHECK((*fitted->params)[1] == Approx(-1.0).margin(0.15));
}

TEST_CASE("a TorchScript CNN trains on images with a channel axis",
          "[torch][torchscript]") {
  // 8 x 8 images [1, 8, 8]: class 0 lit in the top half, class 1 in the
  // bottom half, plus noise.
  auto d = std::make_shared<dataset>();
  d->num_classes = 2;
  std::mt19937_64 rng{9};
  std::uniform_real_distribution<float> noise{0, 0.5f};
  for (auto* s : {&d->train, &d->test}) {
    s->count = 200;
    s->sample_shape = {1, 8, 8};
    for (int64_t i = 0; i < s->count; ++i) {
      for (int p = 0; p < 64; ++p)
        s->features.push_back(noise(rng) + ((p < 32) == (i % 2 == 0) ? 1 : 0));
      s->labels.push_back(i % 2);
    }
  }
  test::temp_dir dir;
  const auto path = dir.path("conv.pt");
  test::save_conv_module(path, 8, 2);
  auto t = torch_trainer::make(torch_model_spec{path}, d);
  INFO((t ? std::string{} : describe(t.error())));
  REQUIRE(t);
  const auto initial = (*t)->initial_params(0);
  auto fitted = (*t)->fit(input(initial, 200));
  REQUIRE(fitted);
  auto after = (*t)->evaluate(span<const float>{*fitted->params});
  REQUIRE(after);
  CHECK(after->accuracy > 0.95);
}

TEST_CASE("TorchScript files that cannot train are refused clearly",
          "[torch][torchscript]") {
  test::temp_dir dir;
  auto classes = blobs(task_kind::classification, 6);
  auto fails_with = [&](const std::string& path, const std::string& text,
                        std::shared_ptr<const dataset> data) {
    auto t = torch_trainer::make(torch_model_spec{path}, std::move(data));
    REQUIRE(!t);
    CHECK_THAT(describe(t.error()), Catch::Contains(text));
  };
  SECTION("not a TorchScript file") {
    fails_with(dir.write("junk.pt", std::string{"not a zip"}),
               "cannot load the TorchScript model", classes);
  }
  SECTION("a missing file") {
    fails_with(dir.path("absent.pt"), "absent.pt", classes);
  }
  SECTION("no forward method") {
    const auto p = dir.path("noforward.pt");
    test::save_module_without_forward(p);
    fails_with(p, "has no forward method", classes);
  }
  SECTION("outputs without a class axis") {
    const auto p = dir.path("sum.pt");
    test::save_summing_module(p, 4);
    fails_with(p, "gives outputs of shape [2] for 2 samples; the labels "
                  "need [2, 3]",
               classes);
  }
  SECTION("too few classes") {
    const auto p = dir.path("two.pt");
    test::save_linear_module(p, 4, 2);
    fails_with(p, "[2, 3] class scores", classes);
  }
  SECTION("inputs of another size") {
    const auto p = dir.path("wide.pt");
    test::save_linear_module(p, 5, 3);
    fails_with(p, "fails on a batch of shape [2, 4]", classes);
  }
  SECTION("a loss that does not fit the task") {
    const auto p = dir.path("ok.pt");
    test::save_linear_module(p, 4, 3);
    auto t = torch_trainer::make(torch_model_spec{p, "mse"}, classes);
    REQUIRE(!t);
    CHECK_THAT(describe(t.error()), Catch::Contains("does not fit"));
  }
}

TEST_CASE("the built-in MLP sizes itself from the data", "[torch]") {
  auto t = torch_trainer::make(torch_model_spec{"mlp"},
                               blobs(task_kind::classification, 6));
  REQUIRE(t);
  CHECK((*t)->layout().numel() == (4 * 200 + 200) + (200 * 200 + 200)
                                   + (200 * 3 + 3));
  auto cnn = torch_trainer::make(torch_model_spec{"cnn"},
                                 blobs(task_kind::classification, 6));
  REQUIRE(!cnn);
  CHECK_THAT(describe(cnn.error()), Catch::Contains("28 x 28"));
}
