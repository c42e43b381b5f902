#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "runtime/storage/checkpoint.hpp"
#include "runtime/core/errors.hpp"

using namespace fl;

namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/fl-ckpt-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

flat_model sample_model() {
  model_layout l;
  l.add("a", {2, 3});
  l.add("b", {4});
  flat_model m{l};
  for (size_t i = 0; i < m.size(); ++i)
    m.data()[i] = static_cast<float>(i) * 1.5f;
  return m;
}

} // namespace

TEST_CASE("a checkpoint is written atomically and loads back", "[checkpoint]") {
  auto dir = temp_dir();
  auto path = checkpoint_path(dir);
  auto m = sample_model();
  REQUIRE(!save_checkpoint(path, m, 7, 3));
  std::ifstream tmp{path + ".tmp"};
  CHECK(!tmp.good()); // no temp file left behind
  auto c = load_checkpoint(path);
  REQUIRE(c);
  CHECK(c->model_version == 7);
  CHECK(c->round == 3);
  CHECK(c->model.layout() == m.layout());
  CHECK(std::equal(m.values().begin(), m.values().end(),
                   c->model.values().begin()));
  // Overwriting keeps exactly one valid checkpoint.
  m.data()[0] = -1;
  REQUIRE(!save_checkpoint(path, m, 8, 4));
  auto c2 = load_checkpoint(path);
  REQUIRE(c2);
  CHECK(c2->model_version == 8);
  CHECK(c2->model.data()[0] == -1);
}

TEST_CASE("corrupt or missing checkpoints are errors", "[checkpoint]") {
  auto dir = temp_dir();
  auto path = checkpoint_path(dir);
  CHECK(load_checkpoint(path).error() == errc::io_error);
  REQUIRE(!save_checkpoint(path, sample_model(), 1, 1));
  {
    std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(-10, std::ios::end);
    f.put('\x7f');
  }
  CHECK(load_checkpoint(path).error() == errc::checksum_mismatch);
  REQUIRE(truncate(path.c_str(), 40) == 0);
  CHECK(load_checkpoint(path).error() == errc::malformed_message);
  std::ofstream{path} << "hello";
  CHECK(load_checkpoint(path).error() == errc::malformed_message);
}
