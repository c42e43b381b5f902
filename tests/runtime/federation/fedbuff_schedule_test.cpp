#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "runtime/core/errors.hpp"
#include "runtime/federation/fedbuff_schedule.hpp"

using namespace fl;

namespace {

std::vector<fedbuff_schedule::client> equal_clients(size_t n) {
  std::vector<fedbuff_schedule::client> cs;
  for (size_t i = 0; i < n; ++i)
    cs.push_back({"c" + std::to_string(i), 1.0});
  return cs;
}

} // namespace

TEST_CASE("with equal speeds the logical FedBuff is the textbook one",
          "[fedbuff_schedule]") {
  // 6 clients, concurrency 4, K = 2, 3 buffers. At t=1 the first four
  // finish (tasks 0-3): buffers 0 and 1 close, versions 1 and 2 exist, and
  // four new tasks start on version 2 (only 2 of them are needed).
  auto s = fedbuff_schedule::plan(equal_clients(6), 4, 2, 3, 0);
  REQUIRE(s);
  const auto& ts = s->tasks();
  REQUIRE(ts.size() == 6);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(ts[i].base == 0);
    CHECK(ts[i].buffer == i / 2);
  }
  // Task 4 starts when task 0 completes (version 0 still: task 1 has not
  // completed yet at the same instant, ties go by task number).
  CHECK(ts[4].base == 0);
  CHECK(ts[4].buffer == 2);
  CHECK(ts[4].staleness() == 2);
  CHECK(ts[5].base == 1); // started after buffer 0 closed
  CHECK(ts[5].staleness() == 1);
}

TEST_CASE("a slow client's delta lands in a later buffer with more "
          "staleness",
          "[fedbuff_schedule]") {
  auto cs = equal_clients(4);
  cs[0].duration = 2.5; // c0 is 2.5 times slower
  auto s = fedbuff_schedule::plan(cs, 4, 2, 4, 1);
  REQUIRE(s);
  std::map<std::string, uint64_t> count;
  uint64_t per_buffer[4] = {};
  for (const auto& t : s->tasks()) {
    ++count[t.client];
    ++per_buffer[t.buffer];
    CHECK(t.base <= t.buffer);
  }
  for (auto n : per_buffer)
    CHECK(n == 2); // every buffer holds exactly K deltas
  CHECK(count["c0"] == 1); // in 8 deltas the slow client returns once
  CHECK(count["c1"] + count["c2"] + count["c3"] == 7);
  const auto& slow = s->tasks()[s->tasks_of("c0").front()];
  CHECK(slow.base == 0);
  CHECK(slow.staleness() == 3);
}

TEST_CASE("the plan depends on the seed and the members, not their order",
          "[fedbuff_schedule]") {
  auto cs = equal_clients(7);
  auto a = fedbuff_schedule::plan(cs, 3, 2, 5, 9);
  std::reverse(cs.begin(), cs.end());
  auto b = fedbuff_schedule::plan(cs, 3, 2, 5, 9);
  auto c = fedbuff_schedule::plan(cs, 3, 2, 5, 10);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  auto clients_of = [](const fedbuff_schedule& s) {
    std::vector<std::string> xs;
    for (const auto& t : s.tasks())
      xs.push_back(t.client);
    return xs;
  };
  CHECK(clients_of(*a) == clients_of(*b));
  CHECK(clients_of(*a) != clients_of(*c));
  size_t n = 0;
  for (const auto& t : a->tasks()) {
    const auto& mine = a->tasks_of(t.client);
    CHECK(std::find(mine.begin(), mine.end(), n) != mine.end());
    ++n;
  }
  CHECK(a->tasks_of("nobody").empty());
}

TEST_CASE("bad schedules are refused", "[fedbuff_schedule]") {
  CHECK(fedbuff_schedule::plan({}, 2, 2, 1, 0).error() == errc::invalid_config);
  CHECK(fedbuff_schedule::plan(equal_clients(2), 0, 2, 1, 0).error()
        == errc::invalid_config);
  auto cs = equal_clients(2);
  cs[1].duration = 0;
  CHECK(fedbuff_schedule::plan(cs, 2, 2, 1, 0).error() == errc::invalid_config);
}
