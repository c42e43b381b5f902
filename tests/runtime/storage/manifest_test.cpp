#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "runtime/core/build_info.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/storage/manifest.hpp"

using namespace fl;

namespace {

std::string temp_file(const std::string& name, const std::string& text) {
  auto path = "/tmp/fl_manifest_test_" + name;
  std::ofstream{path} << text;
  return path;
}

} // namespace

TEST_CASE("the manifest names the build, the seed and the whole "
          "configuration, and gives it back",
          "[manifest]") {
  node_config cfg;
  cfg.federation.seed = 42;
  cfg.federation.rounds = 9;
  cfg.node.token = "secret-token";
  auto line = run_manifest(cfg, "sim");
  CHECK(line.rfind("{\"manifest\":{\"fedactor_version\":\"", 0) == 0);
  CHECK_THAT(line, Catch::Contains(std::string{"\"commit\":\""}
                                   + build_commit() + "\""));
  CHECK_THAT(line, Catch::Contains("\"seed\":42"));
  CHECK_THAT(line, Catch::Contains("\"federation.rounds\":9"));
  CHECK_THAT(line, Catch::Contains("\"start_time\":\"20"));
  CHECK_THAT(line, !Catch::Contains("secret-token")); // never written
  CHECK_THAT(line, Catch::Contains("\"redacted\":[\"node.token\"]"));
  auto path = temp_file("ok.jsonl", line + "\n{\"round\":1}\n");
  CHECK(is_metrics_file(path));
  auto toml = manifest_config(path);
  REQUIRE(toml);
  node_config back;
  REQUIRE(!load_toml_string(back, *toml, path));
  cfg.node.token.clear();
  CHECK(to_json(back) == to_json(cfg));
  std::remove(path.c_str());
}

TEST_CASE("a file without a manifest is refused with its name",
          "[manifest]") {
  auto records = temp_file("none.jsonl", "{\"round\":1}\n");
  auto err = manifest_config(records);
  REQUIRE(!err);
  CHECK(err.error() == errc::invalid_config);
  CHECK_THAT(describe(err.error()), Catch::Contains(records));
  auto broken = temp_file("broken.jsonl",
                          "{\"manifest\":{\"config_toml\":\"[node]\\q\"}}\n");
  CHECK(manifest_config(broken).error() == errc::invalid_config);
  auto cut = temp_file("cut.jsonl", "{\"manifest\":{\"config_toml\":\"[no");
  CHECK(manifest_config(cut).error() == errc::invalid_config);
  CHECK(manifest_config("/nonexistent/m.jsonl").error() == errc::io_error);
  auto toml = temp_file("plain.toml", "[federation]\nrounds = 3\n");
  CHECK_FALSE(is_metrics_file(toml));
  for (auto& p : {records, broken, cut, toml})
    std::remove(p.c_str());
}
