#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "runtime/core/errors.hpp"
#include "runtime/federation/client_profiles.hpp"
#include "support/temp_files.hpp"

using namespace fl;

TEST_CASE("simulated client ids map to indices and back", "[profiles]") {
  CHECK(client_id(17) == "client-17");
  CHECK(client_index("client-17") == 17u);
  CHECK(client_index("client-0") == 0u);
  CHECK(client_index(client_id(999999)) == 999999u);
  CHECK_FALSE(client_index("client-"));
  CHECK_FALSE(client_index("client-01"));
  CHECK_FALSE(client_index("client-1x"));
  CHECK_FALSE(client_index("server"));
  CHECK_FALSE(client_index("client-99999999999999999999999"));
}

TEST_CASE("seeded availability: each client is online its share of every "
          "period", "[profiles]") {
  profile_settings s;
  s.seed = 3;
  s.availability = 0.25;
  s.period_s = 100;
  client_profiles p{s};
  CHECK_FALSE(p.always_online());
  CHECK(p.uniform_speed());
  // Over many clients at one instant, about a quarter are online.
  size_t online = 0;
  for (uint64_t i = 0; i < 4000; ++i)
    online += p.online(i, 1234.5);
  CHECK(online > 800);
  CHECK(online < 1200);
  // One client over one period: online exactly 25 of its 100 seconds, and
  // next_online / online_until agree with online().
  size_t seconds_online = 0;
  for (int t = 0; t < 100; ++t) {
    const double x = 500 + t + 0.5;
    const bool on = p.online(7, x);
    seconds_online += on;
    auto next = p.next_online(7, x);
    REQUIRE(next);
    CHECK(p.online(7, *next + 1e-9));
    if (on) {
      CHECK(*next == x);
      CHECK(p.online_until(7, x) > x);
      CHECK_FALSE(p.online(7, p.online_until(7, x) + 1e-6));
    } else {
      CHECK(*next > x);
    }
  }
  CHECK(seconds_online == 25);
}

TEST_CASE("seeded speeds: log-normal around 1, stragglers as the flags made "
          "them", "[profiles]") {
  profile_settings s;
  s.seed = 1;
  s.speed_sigma = 0.5;
  client_profiles p{s};
  CHECK_FALSE(p.uniform_speed());
  CHECK(p.always_online());
  std::vector<double> xs;
  for (uint64_t i = 0; i < 2001; ++i)
    xs.push_back(p.speed(i));
  std::sort(xs.begin(), xs.end());
  CHECK(xs[1000] == Approx(1.0).margin(0.1)); // the median
  CHECK(xs.front() > 0);
  // Stragglers only: a seeded 30 % are 4x slower, the rest exactly 1.
  profile_settings t;
  t.seed = 1;
  t.straggler_fraction = 0.3;
  t.straggler_slowdown = 4;
  client_profiles q{t};
  size_t slow = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    const double x = q.speed(i);
    CHECK((x == 1.0 || x == 4.0));
    slow += x == 4.0;
  }
  CHECK(slow > 240);
  CHECK(slow < 360);
}

TEST_CASE("a client trace gives listed clients their speed and windows",
          "[profiles]") {
  test::temp_dir dir;
  auto path = dir.write("trace.csv",
                        "client,speed,availability\n"
                        "# a comment\n"
                        "client-0,2.5,\n"
                        "1,1,10-20;30-40\n"
                        "client-2,0.5,\"100-1e9\"\n");
  profile_settings defaults;
  auto p = client_profiles::read_trace(path, defaults, 5);
  REQUIRE(p);
  CHECK(p->speed(0) == 2.5);
  CHECK(p->speed(2) == 0.5);
  CHECK(p->speed(3) == 1.0); // not listed: the seeded default
  CHECK(p->online(0, 12345));
  CHECK_FALSE(p->online(1, 5));
  CHECK(p->online(1, 10));
  CHECK_FALSE(p->online(1, 20));
  CHECK(p->online(1, 35));
  CHECK(*p->next_online(1, 25) == 30);
  CHECK_FALSE(p->next_online(1, 40));
  CHECK(p->online_until(1, 31) == 40);
  CHECK_FALSE(p->online(2, 99));
  CHECK(p->online(3, 0));
  CHECK_FALSE(p->always_online());
}

TEST_CASE("a bad trace row is refused with its line", "[profiles]") {
  test::temp_dir dir;
  auto refuse = [&](const std::string& body, const std::string& what) {
    auto path = dir.write("t.csv", body);
    auto p = client_profiles::read_trace(path, {}, 10);
    REQUIRE_FALSE(p);
    CHECK(p.error() == errc::invalid_config);
    CHECK_THAT(describe(p.error()), Catch::Contains(what));
  };
  const std::string h = "client,speed,availability\n";
  refuse("", "is empty");
  refuse("id,speed\n1,1\n", ":1: expected the header");
  refuse(h + "1,1,\n2,x,\n", ":3: speed 'x' must be a number > 0");
  refuse(h + "1,0,\n", ":2: speed '0'");
  refuse(h + "1,-2,\n", ":2: speed '-2'");
  refuse(h + "1,1\n", ":2: expected 3 fields");
  refuse(h + "nobody,1,\n", ":2: client 'nobody'");
  refuse(h + "12,1,\n", ":2: client 12 is not in this federation of 10");
  refuse(h + "1,1,\n\nclient-1,2,\n", ":4: client client-1 is listed twice");
  refuse(h + "1,1,5-3\n", ":2: online window '5-3' must have 0 <= START");
  refuse(h + "1,1,5\n", ":2: online window '5' is not START-END");
  refuse(h + "1,1,1-5;4-8\n", ":2: online windows must be in increasing");
  refuse(h + "1,nan,\n", ":2: speed 'nan'");
  auto missing = client_profiles::read_trace(dir.path("none.csv"), {}, 3);
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == errc::io_error);
}
