#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "runtime/core/status_line.hpp"

using namespace fl;

namespace {

/// Everything written to `f` so far.
std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  for (int c; (c = std::fgetc(f)) != EOF;)
    s += static_cast<char>(c);
  return s;
}

} // namespace

TEST_CASE("a status line redraws in place, below the log lines",
          "[status_line]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  status_line line{f, true, 0.0};
  line.show("round 1/3");
  line.show("round 2/3");
  const std::string log = "12:00:00 info  [node] joined\n";
  line.write_log(log.data(), log.size());
  line.clear();
  CHECK(contents(f)
        == "\r\033[Kround 1/3\r\033[Kround 2/3" // redrawn in place
           "\r\033[K12:00:00 info  [node] joined\n" // erased, log above...
           "\r\033[Kround 2/3"                      // ...and drawn again
           "\r\033[K");                             // erased at the end
  std::fclose(f);
}

TEST_CASE("off a terminal only the log lines are written", "[status_line]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  status_line line{f, false};
  line.show("round 1/3");
  const std::string log = "a log line\n";
  line.write_log(log.data(), log.size());
  line.clear();
  CHECK(contents(f) == "a log line\n");
  std::fclose(f);
}

TEST_CASE("redraws are throttled, the latest text kept", "[status_line]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  status_line line{f, true, 3600.0};
  line.show("update 1");
  line.show("update 2"); // too soon: not drawn, but kept
  const std::string log = "log\n";
  line.write_log(log.data(), log.size());
  CHECK(contents(f) == "\r\033[Kupdate 1\r\033[Klog\n\r\033[Kupdate 2");
  std::fclose(f);
}
