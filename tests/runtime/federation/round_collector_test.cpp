#include <catch2/catch.hpp>

#include "runtime/core/errors.hpp"
#include "runtime/federation/round_collector.hpp"

using namespace fl;

namespace {

fit_result result(const std::string& id) {
  return fit_result{id, 10, {}, {}, 0};
}

} // namespace

TEST_CASE("a round completes when every sampled client was folded",
          "[round_collector]") {
  round_collector c;
  CHECK(c.admit("a", 1) == update_admission::no_round);
  c.start(1, {"a", "b"});
  CHECK(c.admit("a", 1) == update_admission::accepted);
  CHECK_FALSE(c.complete()); // b awaited, a in flight
  CHECK(c.admit("b", 1) == update_admission::accepted);
  CHECK_FALSE(c.complete()); // both still being folded
  c.folded(result("a"));
  c.fold_failed("b", make_fl_error(errc::rejected_update, "too big"));
  REQUIRE(c.complete());
  auto [ok, failed] = c.take();
  CHECK(ok.size() == 1);
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].node_id == "b");
  CHECK_FALSE(c.open());
}

TEST_CASE("late, early, duplicate and unsampled updates are not admitted",
          "[round_collector]") {
  round_collector c;
  c.start(3, {"a", "b"});
  CHECK(c.admit("a", 2) == update_admission::wrong_round);
  CHECK(c.admit("a", 4) == update_admission::wrong_round);
  CHECK(c.admit("x", 3) == update_admission::not_expected);
  CHECK(c.admit("a", 3) == update_admission::accepted);
  CHECK(c.admit("a", 3) == update_admission::not_expected); // duplicate
  // A folded result for someone not in flight changes nothing.
  c.folded(result("x"));
  CHECK(c.results().empty());
}

TEST_CASE("failures and the deadline close a round without its updates",
          "[round_collector]") {
  round_collector c;
  c.start(1, {"a", "b", "c"});
  CHECK(c.fail("a", make_fl_error(errc::training_failed, "oom")));
  CHECK_FALSE(c.fail("a", make_fl_error(errc::peer_lost, "again")));
  CHECK(c.admit("b", 1) == update_admission::accepted);
  CHECK(c.deadline(2) == 0); // another round's deadline
  CHECK(c.deadline(1) == 1); // c timed out; b is in flight, not late
  CHECK_FALSE(c.complete());
  c.folded(result("b"));
  REQUIRE(c.complete());
  CHECK(c.results().size() == 1);
  REQUIRE(c.failures().size() == 2);
  CHECK(c.failures()[1].reason.code()
        == static_cast<uint8_t>(errc::timeout));
}
