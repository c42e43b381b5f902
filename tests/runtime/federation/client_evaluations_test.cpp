#include <catch2/catch.hpp>

#include "runtime/federation/client_evaluations.hpp"

using namespace fl;

TEST_CASE("client evaluations: weighted means, refusals, strangers and "
          "deadlines",
          "[federation]") {
  client_evaluations evs;
  evs.start(3, {"a", "b", "c"});
  CHECK(evs.open(3));
  CHECK(evs.awaits(3, "a"));
  // A stranger's answer and an answer to another round are ignored.
  CHECK(!evs.answer(3, "mallory", std::make_pair(0.0, 1.0), 100));
  CHECK(!evs.answer(4, "a", std::make_pair(0.0, 1.0), 100));
  CHECK(!evs.answer(3, "a", std::make_pair(1.0, 0.5), 10));
  // Answering twice counts once.
  CHECK(!evs.answer(3, "a", std::make_pair(9.0, 0.0), 1000));
  CHECK(!evs.answer(3, "b", std::make_pair(3.0, 1.0), 30));
  // c cannot evaluate: the last awaited answer closes nothing by itself
  // but says so.
  CHECK(evs.answer(3, "c", std::nullopt, 0));
  auto s = evs.close(3);
  REQUIRE(s);
  CHECK(s->clients == 2);
  CHECK(s->missing == 0);
  CHECK(s->loss == Approx((1.0 * 10 + 3.0 * 30) / 40));
  CHECK(s->accuracy == Approx((0.5 * 10 + 1.0 * 30) / 40));
  CHECK(!evs.open(3));
  CHECK(!evs.close(3));
  // A deadline closes with what came; the silent are counted.
  evs.start(5, {"a", "b"});
  evs.start(7, {"a"});
  CHECK(evs.keys() == std::vector<uint64_t>{5, 7});
  evs.answer(5, "a", std::make_pair(2.0, 0.25), 4);
  auto d = evs.close(5);
  REQUIRE(d);
  CHECK(d->clients == 1);
  CHECK(d->missing == 1);
  CHECK(d->accuracy == Approx(0.25));
  auto none = evs.close(7);
  REQUIRE(none);
  CHECK(none->clients == 0);
  CHECK(none->accuracy == -1);
}
