#include <catch2/catch.hpp>

#include "runtime/federation/evaluation_backlog.hpp"

using namespace fl;

TEST_CASE("the evaluation backlog runs at most its limit and one waits",
          "[evaluation_backlog]") {
  evaluation_backlog<int> b{2, false};
  CHECK(b.offer(1).start);
  CHECK(b.offer(2).start);
  auto third = b.offer(3);
  CHECK_FALSE(third.start);
  CHECK_FALSE(third.skipped);
  CHECK(b.blocked()); // training waits: skipping is off
  CHECK(b.running() == 2);
  CHECK(b.waiting() == 1);
  CHECK(b.done() == 3); // 3 starts as 1 ends
  CHECK_FALSE(b.blocked());
  CHECK(b.done() == std::nullopt);
  CHECK(b.done() == std::nullopt);
  CHECK(b.idle());
}

TEST_CASE("with skipping, a newer model supersedes the waiting one",
          "[evaluation_backlog]") {
  evaluation_backlog<int> b{1, true};
  CHECK(b.offer(1).start);
  CHECK_FALSE(b.offer(2).start);
  auto r3 = b.offer(3);
  REQUIRE(r3.skipped);
  CHECK(*r3.skipped == 2);
  auto r4 = b.offer(4);
  CHECK(r4.skipped == 3);
  CHECK_FALSE(b.blocked()); // training never waits
  CHECK(b.waiting() == 1);
  CHECK(b.done() == 4);
  CHECK(b.done() == std::nullopt);
  evaluation_backlog<int> zero{0, false}; // a limit of 0 means 1
  CHECK(zero.offer(1).start);
  CHECK_FALSE(zero.offer(2).start);
}
