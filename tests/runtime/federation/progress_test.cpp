#include <catch2/catch.hpp>

#include "runtime/federation/progress.hpp"

using namespace fl;

TEST_CASE("the ETA extrapolates the rate so far, capped by a time limit",
          "[progress]") {
  run_progress p;
  p.unit = "round";
  p.total = 30;
  CHECK(!eta_seconds(p)); // nothing done yet
  p.done = 10;
  p.elapsed_s = 5;
  CHECK(*eta_seconds(p) == Approx(10.0));
  // A resumed run: the rate counts only this process's rounds.
  p.offset = 5;
  CHECK(*eta_seconds(p) == Approx(20.0));
  p.offset = 0;
  p.max_seconds = 8; // the time limit ends it first
  CHECK(*eta_seconds(p) == Approx(3.0));
  p.total = 0; // no count limit: the time limit alone
  CHECK(*eta_seconds(p) == Approx(3.0));
  p.max_seconds = 0;
  CHECK(!eta_seconds(p));
  p.total = 10;
  CHECK(*eta_seconds(p) == 0.0); // done
}

TEST_CASE("the progress line shows counts, accuracy, rate and ETA",
          "[progress]") {
  run_progress p;
  p.unit = "round";
  p.total = 30;
  p.done = 12;
  p.elapsed_s = 4.8;
  p.accuracy = 0.74312;
  p.current = 13;
  p.round_in = 4;
  p.round_expected = 10;
  CHECK(progress_text(p) == "round 12/30 (40%) | round 13: 4/10 in | acc "
                            "0.7431 | 2.50 rounds/s | 4.8 s | ETA 7.2 s");
  run_progress a;
  a.unit = "update";
  a.elapsed_s = 1.5;
  CHECK(progress_text(a) == "update 0 | 1.5 s");
  a.done = 30;
  a.max_seconds = 2;
  CHECK(progress_text(a) == "update 30 | 20.00 updates/s | 1.5 s | ETA 0.5 s");
}
