#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/core/errors.hpp"
#include "runtime/storage/text_file.hpp"

using namespace fl;

namespace {

std::string read(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

TEST_CASE("a text file is written whole and replaced whole",
          "[storage][text_file]") {
  namespace fs = std::filesystem;
  const auto dir = fs::temp_directory_path() / "fl-text-file-test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto path = (dir / "port").string();
  REQUIRE(!write_text_file(path, "7000\n"));
  CHECK(read(path) == "7000\n");
  REQUIRE(!write_text_file(path, "7001\n"));
  CHECK(read(path) == "7001\n");
  CHECK(!fs::exists(path + ".tmp"));
  // A folder that does not exist: an error naming the file.
  auto err = write_text_file((dir / "missing" / "x").string(), "y");
  REQUIRE(err);
  CHECK(has_code(err, errc::io_error));
  CHECK_THAT(describe(err), Catch::Contains("cannot write '")
                              && Catch::Contains("missing/x"));
  // The target is a folder: the rename fails, the old folder stays and
  // no temporary file is left behind.
  fs::create_directories(dir / "busy");
  err = write_text_file((dir / "busy").string(), "z");
  REQUIRE(err);
  CHECK_THAT(describe(err), Catch::Contains("cannot replace '"));
  CHECK(fs::is_directory(dir / "busy"));
  CHECK(!fs::exists(dir / "busy.tmp"));
  fs::remove_all(dir);
}
