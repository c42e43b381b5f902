#include <catch2/catch.hpp>

#include "runtime/core/config.hpp"
#include "runtime/core/errors.hpp"

using namespace fl;

namespace {

std::string context(const caf::error& err) { return describe(err); }

} // namespace

TEST_CASE("defaults describe workload W1 and are valid", "[config]") {
  node_config c;
  CHECK(!validate(c));
  CHECK(c.training.model == "mlp");
  CHECK(c.federation.clients == 100);
  CHECK(c.federation.clients_per_round == 10);
  CHECK(c.federation.rounds == 30);
  CHECK(c.training.batch_size == 32);
  CHECK(c.training.lr == 0.05);
}

TEST_CASE("a TOML file sets values section by section", "[config]") {
  node_config c;
  auto err = load_toml_string(c, R"(
[federation]
rounds = 5
quorum = 0.5
[training]
lr = 0.1
model = "cnn"
[transport]
heartbeat_s = 2     # integers are fine where numbers are expected
)",
                              "test.toml");
  REQUIRE(!err);
  CHECK(c.federation.rounds == 5);
  CHECK(c.federation.quorum == 0.5);
  CHECK(c.training.lr == 0.1);
  CHECK(c.training.model == "cnn");
  CHECK(c.transport.heartbeat_s == 2.0);
}

TEST_CASE("unknown keys and wrong types are errors naming the line",
          "[config]") {
  node_config c;
  auto err = load_toml_string(c, "[federation]\nrounds = 5\nround = 3\n",
                              "a.toml");
  REQUIRE(err == errc::invalid_config);
  CHECK_THAT(context(err), Catch::Contains("a.toml:3")
                             && Catch::Contains("federation.round"));
  err = load_toml_string(c, "[training]\nepochs = \"two\"\n", "b.toml");
  REQUIRE(err == errc::invalid_config);
  CHECK_THAT(context(err), Catch::Contains("must be an integer"));
  err = load_toml_string(c, "[nope]\nx = 1\n", "c.toml");
  CHECK(err == errc::invalid_config);
  err = load_toml_string(c, "[federation\nrounds = 1\n", "d.toml");
  CHECK(err == errc::io_error);
}

TEST_CASE("flags parse as their setting's type", "[config]") {
  node_config c;
  CHECK(!set_from_string(c, "federation.rounds", "12"));
  CHECK(c.federation.rounds == 12);
  CHECK(set_from_string(c, "federation.rounds", "12x") == errc::invalid_config);
  CHECK(set_from_string(c, "training.lr", "nan") == errc::invalid_config);
  CHECK(set_from_string(c, "no.such", "1") == errc::invalid_config);
  CHECK(c.federation.rounds == 12); // unchanged by the failures
}

TEST_CASE("validation names the first bad setting", "[config]") {
  node_config c;
  c.federation.quorum = 0;
  auto err = validate(c);
  REQUIRE(err == errc::invalid_config);
  CHECK_THAT(context(err), Catch::Contains("quorum"));
  c = node_config{};
  c.node.port = 70000;
  CHECK_THAT(context(validate(c)), Catch::Contains("node.port"));
  c = node_config{};
  c.data.partition = "random";
  CHECK_THAT(context(validate(c)), Catch::Contains("data.partition"));
  c = node_config{};
  c.transport.chunk_mib = 1024;
  CHECK_THAT(context(validate(c)), Catch::Contains("chunk_mib"));
}

TEST_CASE("every setting has a unique key and flag", "[config]") {
  std::set<std::string> keys, flags;
  for (const auto& s : all_settings()) {
    CHECK(keys.insert(s.key).second);
    CHECK(flags.insert(s.flag).second);
    CHECK(!s.help.empty());
  }
}

TEST_CASE("a configuration survives to_toml and load_toml_string exactly",
          "[config][manifest]") {
  node_config cfg;
  cfg.federation.rounds = 17;
  cfg.training.lr = 0.1 + 0.2; // not exactly representable in short form
  cfg.data.partition = "dirichlet";
  cfg.data.dirichlet_alpha = 1.0 / 3;
  cfg.node.id = "a \"quoted\"\\ id\twith tab";
  cfg.output.resume = true;
  node_config back;
  REQUIRE(!load_toml_string(back, to_toml(cfg), "round trip"));
  CHECK(to_json(back) == to_json(cfg));
  CHECK(back.training.lr == cfg.training.lr);
  CHECK(back.node.id == cfg.node.id);
  CHECK(to_json(node_config{}) != to_json(cfg));
}

TEST_CASE("contradictory settings give warnings, W1 none", "[config]") {
  node_config c;
  CHECK(config_warnings(c, "sim").empty());
  c.federation.clients = 3;
  auto w = config_warnings(c, "sim");
  REQUIRE(w.size() == 1);
  CHECK(w[0] == "federation.clients_per_round = 10 is above "
                "federation.clients = 3: each round samples all 3");
  // A client process's `clients` is what it hosts: nothing to compare.
  CHECK(config_warnings(c, "client").empty());
  c = node_config{};
  c.async.max_updates = 50;
  c.federation.eval_every = 40;
  w = config_warnings(c, "server");
  REQUIRE(w.size() == 2);
  CHECK(w[0].find("async.max_updates has no effect in sync mode") == 0);
  CHECK(w[1].find("only the last round is evaluated") != std::string::npos);
  c.federation.mode = "fedbuff";
  c.async.concurrency = 500;
  w = config_warnings(c, "sim");
  REQUIRE(w.size() == 1);
  CHECK(w[0] == "async.concurrency = 500 is above federation.clients = 100");
}
