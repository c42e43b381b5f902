#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "runtime/core/errors.hpp"
#include "runtime/storage/strategy_state.hpp"

using namespace fl;

TEST_CASE("strategy state round-trips and a corrupted file is refused",
          "[storage]") {
  const auto dir = std::filesystem::temp_directory_path()
                   / ("fl-state-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = strategy_state_path(dir.string());
  strategy_state s;
  s.model_version = 12;
  s.vectors = {{"adaptive.m", {1, 2, 3}},
               {"empty", {}},
               {"scaffold.ci/client-7", {-1.5f}}};
  REQUIRE(!save_strategy_state(path, s));
  auto back = load_strategy_state(path);
  REQUIRE(back);
  CHECK(back->model_version == 12);
  REQUIRE(back->vectors.size() == 2); // empty vectors are not stored
  CHECK(back->vectors[0].first == "adaptive.m");
  CHECK(back->vectors[0].second == std::vector<float>{1, 2, 3});
  CHECK(back->vectors[1].first == "scaffold.ci/client-7");
  {
    std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(-6, std::ios::end);
    f.put('\x7f');
  }
  CHECK(!load_strategy_state(path));
  std::filesystem::remove_all(dir);
}
