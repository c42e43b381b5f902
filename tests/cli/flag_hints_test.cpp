#include <catch2/catch.hpp>

#include "cli/flag_hints.hpp"

using fl::cli::edit_distance;
using fl::cli::explain_unexpected;

TEST_CASE("edit distance counts insertions, deletions and substitutions",
          "[cli][flags]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("--round", "--rounds") == 1);
  CHECK(edit_distance("--clinets", "--clients") == 2);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("abc", "") == 3);
}

namespace {

struct two_commands {
  CLI::App root{"test", "fl-node"};
  CLI::App* sim = root.add_subcommand("sim");
  CLI::App* client = root.add_subcommand("client");
  two_commands() {
    sim->add_option("--rounds");
    sim->add_option("--clients-per-round");
    client->add_option("--upstream");
    client->add_option("--rounds");
  }
};

} // namespace

TEST_CASE("an unknown flag gets the nearest one of its subcommand",
          "[cli][flags]") {
  two_commands app;
  auto msg = explain_unexpected(app.root, *app.sim, {"--round", "5"});
  CHECK(msg.find("unknown flag --round for `fl-node sim`; did you mean "
                 "--rounds?")
        != std::string::npos);
  // The value after an unknown flag is not reported on its own.
  CHECK(msg.find("'5'") == std::string::npos);
  msg = explain_unexpected(app.root, *app.sim, {"--clients-per"});
  CHECK(msg.find("did you mean --clients-per-round?") != std::string::npos);
  msg = explain_unexpected(app.root, *app.sim, {"--xyzzy=3"});
  CHECK(msg.find("unknown flag --xyzzy for `fl-node sim`\n")
        != std::string::npos);
  CHECK(msg.find("did you mean") == std::string::npos);
}

TEST_CASE("a flag of another subcommand names that subcommand",
          "[cli][flags]") {
  two_commands app;
  auto msg = explain_unexpected(app.root, *app.sim, {"--upstream", "h:1"});
  CHECK(msg.find("--upstream is a flag of `fl-node client`, not of "
                 "`fl-node sim`")
        != std::string::npos);
  msg = explain_unexpected(app.root, *app.sim, {"stray"});
  CHECK(msg.find("unexpected argument 'stray' for `fl-node sim`")
        != std::string::npos);
}
