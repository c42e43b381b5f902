// A custom dataset: an application's own samples in memory (three noisy
// 2-D clusters, each sample owned by one of 12 "users"), split by owner as
// in LEAF and trained with the built-in MLP, which sizes itself from the
// data (2 features, 3 classes).
//   build: see examples/CMakeLists.txt; run: ./custom_dataset
#include <cstdio>
#include <random>

#include <fedactor/fedactor.hpp>

namespace {

fedactor::data_split make_split(int64_t n, uint64_t seed) {
  std::mt19937_64 rng{seed};
  std::normal_distribution<float> noise{0, 0.4f};
  const float cx[3] = {0, 2, -2}, cy[3] = {2, -1, -1};
  fedactor::data_split s;
  s.count = n;
  s.sample_shape = {2};
  for (int64_t i = 0; i < n; ++i) {
    const auto cls = i % 3;
    s.features.push_back(cx[cls] + noise(rng));
    s.features.push_back(cy[cls] + noise(rng));
    s.labels.push_back(cls);
    s.owners.push_back(i % 12); // user ids: every user holds every class
  }
  return s;
}

} // namespace

int main() {
  auto data = std::make_shared<fedactor::dataset>();
  data->task = fedactor::task_kind::classification;
  data->num_classes = 3;
  data->train = make_split(2400, 1);
  data->test = make_split(600, 2);
  if (auto err = fedactor::validate(*data, "clusters")) {
    std::fprintf(stderr, "%s\n", fedactor::describe(err).c_str());
    return 1;
  }
  fedactor::federation fed;
  fed.set("federation.clients", "12"); // one client per owner
  fed.set("federation.clients_per_round", "4");
  fed.set("federation.rounds", "10");
  fed.set("data.partition", "by-owner");
  fed.use_dataset(data);
  auto result = fed.simulate();
  if (!result) {
    std::fprintf(stderr, "%s\n", fedactor::describe(result.error()).c_str());
    return 1;
  }
  std::printf("after %zu rounds: test accuracy %.4f\n", result->rounds.size(),
              result->final_accuracy);
  return result->final_accuracy > 0.9 ? 0 : 1;
}
