#include <catch2/catch.hpp>

#include "runtime/core/errors.hpp"
#include "runtime/report/html_report.hpp"
#include "runtime/report/partition_table.hpp"
#include "runtime/report/svg_chart.hpp"

using namespace fl;
using namespace fl::report;

namespace {

std::string fixture(const std::string& name) {
  return std::string{FL_REPORT_FIXTURES} + "/" + name;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1))
    ++n;
  return n;
}

} // namespace

TEST_CASE("the report overlays runs in self-contained charts",
          "[report][html]") {
  report_input in;
  for (auto name : {"sync.jsonl", "async.jsonl"})
    in.runs.push_back(*read_run(fixture(name)));
  in.target_accuracy = 0.5;
  auto html = html_report(in);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  // Nothing to fetch: no external scripts, styles or images.
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("href=") == std::string::npos);
  // Accuracy and loss by round and time, participation, traffic, staleness.
  CHECK(count(html, "<svg id=") == 7);
  CHECK(html.find("id=\"consensus\"") == std::string::npos);
  // Both runs in the accuracy chart, each in its colour and class.
  CHECK(count(html, "<g class=\"series run-0\">") >= 5);
  CHECK(count(html, "<g class=\"series run-1\">") >= 5);
  CHECK(html.find("0.5476") != std::string::npos); // the summary
  // Traffic has sync's points only; async has no bytes recorded.
  auto traffic = html.substr(html.find("id=\"bytes\""));
  traffic = traffic.substr(0, traffic.find("</svg>"));
  CHECK(count(traffic, "run-1") == 0);
}

TEST_CASE("gossip runs add consensus distance; missing data says so",
          "[report][html]") {
  report_input in;
  in.runs.push_back(*read_run(fixture("gossip.jsonl")));
  auto html = html_report(in);
  CHECK(html.find("id=\"consensus\"") != std::string::npos);
  auto stale = html.substr(html.find("id=\"staleness\""));
  stale = stale.substr(0, stale.find("</svg>"));
  CHECK(stale.find("no data") != std::string::npos);
}

TEST_CASE("labels and notes are escaped", "[report][html]") {
  report_input in;
  in.runs.push_back(*read_run(fixture("sync.jsonl")));
  in.runs[0].label = "<script>x</script>";
  in.notes.push_back("a & b");
  auto html = html_report(in);
  CHECK(html.find("<script>x") == std::string::npos);
  CHECK(html.find("&lt;script&gt;x") != std::string::npos);
  CHECK(html.find("a &amp; b") != std::string::npos);
}

TEST_CASE("a partition CSV becomes a heat map", "[report][partition]") {
  auto table = read_partition_csv(fixture("partition.csv"));
  REQUIRE(table);
  CHECK(table->classes == std::vector<std::string>{"class_0", "class_1"});
  CHECK(table->counts == std::vector<std::vector<uint64_t>>{{1, 2}, {4, 0}});
  report_input in;
  in.runs.push_back(*read_run(fixture("sync.jsonl")));
  in.partition = *table;
  auto html = html_report(in);
  REQUIRE(html.find("id=\"partition\"") != std::string::npos);
  CHECK(html.find("<title>class 0, client 1: 4</title>") != std::string::npos);
  CHECK(html.find("<title>class 1, client 1: 0</title>") != std::string::npos);
  auto bad = read_partition_csv(fixture("bad_partition.csv"));
  REQUIRE(!bad);
  CHECK_THAT(describe(bad.error()),
             Catch::Contains("bad_partition.csv:2: 3 fields, the header has 4"));
}

TEST_CASE("charts escape text and survive degenerate data", "[report][svg]") {
  CHECK(html_escape("<a href='x'>&\"") == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
  // One point: the ranges widen instead of dividing by zero.
  auto svg = line_chart({"one", "t", "x", "y"}, {{"r", 0, {{1, 1}}, false}});
  CHECK(count(svg, "nan") == count(svg, "dominant")); // no NaN coordinate
  CHECK(svg.find("inf") == std::string::npos);
  CHECK(line_chart({"none", "t", "x", "y"}, {}).find("no data")
        != std::string::npos);
}
