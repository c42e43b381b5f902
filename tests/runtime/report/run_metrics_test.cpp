#include <catch2/catch.hpp>

#include "runtime/core/errors.hpp"
#include "runtime/report/run_metrics.hpp"
#include "runtime/report/run_summary.hpp"

using namespace fl;
using namespace fl::report;

namespace {

std::string fixture(const std::string& name) {
  return std::string{FL_REPORT_FIXTURES} + "/" + name;
}

} // namespace

TEST_CASE("a sync metrics file becomes one point per round",
          "[report][metrics]") {
  auto run = read_run(fixture("sync.jsonl"));
  REQUIRE(run);
  CHECK(run->label == "sync");
  CHECK(run->mode == "sync");
  CHECK(run->command == "sim");
  CHECK(run->warnings.empty());
  REQUIRE(run->points.size() == 3);
  CHECK(run->points[0].step == 1);
  CHECK(run->points[2].step == 3);
  CHECK(*run->points[0].test_accuracy == Approx(0.3787));
  CHECK(*run->points[0].clients_ok == 10);
  CHECK(*run->points[0].clients_failed == 0);
  CHECK(*run->points[0].bytes == 2 * 7968400.0);
  CHECK(run->staleness.empty());
}

TEST_CASE("an async file: counters become per-record differences and "
          "staleness is summed",
          "[report][metrics]") {
  auto run = read_run(fixture("async.jsonl"));
  REQUIRE(run);
  CHECK(run->mode == "async");
  REQUIRE(run->points.size() == 3);
  CHECK(run->points[0].step == 10);
  CHECK(*run->points[0].clients_ok == 10);
  CHECK(*run->points[1].clients_ok == 10); // 20 applied in all
  CHECK(!run->points[0].bytes);
  uint64_t updates = 0;
  for (auto [staleness, n] : run->staleness)
    updates += n;
  CHECK(updates == 30);
  CHECK(run->staleness.at(15) == 3);
}

TEST_CASE("a file that holds no run records is refused with its name",
          "[report][metrics]") {
  auto empty = read_run(fixture("empty.jsonl"));
  REQUIRE(!empty);
  CHECK_THAT(describe(empty.error()),
             Catch::Contains("empty.jsonl has no round or model-version "
                             "records (the file is empty)"));
  auto clients = read_run(fixture("client_records.jsonl"));
  REQUIRE(!clients);
  CHECK_THAT(describe(clients.error()),
             Catch::Contains("holds per-client records"));
  auto missing = read_run(fixture("no-such-file.jsonl"));
  REQUIRE(!missing);
  CHECK(has_code(missing.error(), errc::io_error));
}

TEST_CASE("a truncated last line is skipped with a warning naming it",
          "[report][metrics]") {
  auto run = read_run(fixture("truncated.jsonl"));
  REQUIRE(run);
  CHECK(run->points.size() == 2);
  REQUIRE(run->warnings.size() == 1);
  CHECK_THAT(run->warnings[0], Catch::Contains("truncated.jsonl:4: not a "
                                               "JSON record"));
}

TEST_CASE("a resumed file continues its series; foreign lines are noted",
          "[report][metrics]") {
  auto run = read_run(fixture("resumed_mixed.jsonl"));
  REQUIRE(run);
  REQUIRE(run->points.size() == 3);
  CHECK(run->points.back().step == 3);
  // The JSON array, the unknown object and the per-client record.
  REQUIRE(run->warnings.size() == 3);
  CHECK_THAT(run->warnings[0], Catch::Contains(":7: not a JSON object"));
  CHECK_THAT(run->warnings[1], Catch::Contains(":8: a record of no known "
                                               "kind"));
  CHECK_THAT(run->warnings[2], Catch::Contains("1 per-client record(s)"));
}

TEST_CASE("gossip records carry consensus distance and bytes sent",
          "[report][metrics]") {
  auto run = read_run(fixture("gossip.jsonl"));
  REQUIRE(run);
  CHECK(run->mode == "gossip");
  REQUIRE(run->points.size() == 2);
  CHECK(*run->points[1].consensus_distance == 0.4);
  CHECK(*run->points[1].bytes == 1000);
}

TEST_CASE("the summary finds final, best and time to target",
          "[report][summary]") {
  auto run = read_run(fixture("sync.jsonl"));
  REQUIRE(run);
  auto s = summarize(*run, 0.5);
  CHECK(s.records == 3);
  CHECK(s.last_step == 3);
  CHECK(*s.final_accuracy == Approx(0.5476));
  CHECK(*s.best_accuracy == Approx(0.5476));
  CHECK(s.best_step == 3);
  REQUIRE(s.step_to_target);
  CHECK(*s.step_to_target == 2);
  CHECK(*s.time_to_target_s == Approx(0.462282));
  CHECK(s.has_bytes);
  auto never = summarize(*run, 0.99);
  CHECK(!never.time_to_target_s);
  auto csv = summary_csv({s, never}, 0.5);
  CHECK(csv.rfind("run,mode,records,last_step,final_accuracy,best_accuracy,"
                  "best_step,seconds_to_0.500,step_to_0.500,",
                  0)
        == 0);
  CHECK_THAT(csv, Catch::Contains("\nsync,sync,3,3,0.5476,0.5476,3,0.4623,2,"));
  CHECK_THAT(csv, Catch::Contains("\nsync,sync,3,3,0.5476,0.5476,3,,,"));
}

TEST_CASE("a file mixing round and model-version records is read and "
          "flagged",
          "[report][metrics]") {
  auto run = read_run(fixture("mixed_modes.jsonl"));
  REQUIRE(run);
  CHECK(run->points.size() == 4);
  REQUIRE(run->warnings.size() == 1);
  CHECK_THAT(run->warnings[0],
             Catch::Contains("mixes 2 round record(s) and 2 model-version "
                             "record(s)"));
}
