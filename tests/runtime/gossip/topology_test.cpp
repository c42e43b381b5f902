#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <numeric>

#include "runtime/core/errors.hpp"
#include "runtime/gossip/mixing.hpp"
#include "runtime/gossip/topology.hpp"

using namespace fl;
using namespace fl::gossip;

namespace {

std::vector<uint32_t> in_at(const topology& t, size_t i, uint64_t it) {
  std::vector<uint32_t> xs;
  for (const auto& e : t.row(i, it).in)
    xs.push_back(e.peer);
  std::sort(xs.begin(), xs.end());
  return xs;
}

std::vector<uint32_t> out_at(const topology& t, size_t i, uint64_t it) {
  std::vector<uint32_t> xs;
  for (const auto& e : t.out(i, it))
    xs.push_back(e.peer);
  std::sort(xs.begin(), xs.end());
  return xs;
}

std::string write_file(const std::string& name, const std::string& text) {
  auto path = "/tmp/fl-topology-test-" + name;
  std::ofstream{path} << text;
  return path;
}

/// One synchronous step x <- W_t x on scalar models.
std::vector<double> step(const topology& t, const std::vector<double>& x,
                         uint64_t it) {
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const auto& r = t.row(i, it);
    y[i] = r.self_weight * x[i];
    for (const auto& e : r.in)
      y[i] += e.weight * x[e.peer];
  }
  return y;
}

} // namespace

TEST_CASE("static Exponential-2 neighbor sets for 8 and 16 peers") {
  auto t8 = topology::make("exp2", 8);
  REQUIRE(t8);
  CHECK(in_at(*t8, 0, 1) == std::vector<uint32_t>{4, 6, 7});
  CHECK(out_at(*t8, 0, 1) == std::vector<uint32_t>{1, 2, 4});
  CHECK(in_at(*t8, 5, 7) == std::vector<uint32_t>{1, 3, 4});
  CHECK(t8->row(0, 1).self_weight == Approx(0.25));
  CHECK(t8->period() == 1);
  CHECK(t8->doubly_stochastic());
  auto t16 = topology::make("exp2", 16);
  REQUIRE(t16);
  CHECK(in_at(*t16, 0, 1) == std::vector<uint32_t>{8, 12, 14, 15});
  CHECK(out_at(*t16, 3, 1) == std::vector<uint32_t>{4, 5, 7, 11});
  CHECK(t16->row(3, 1).self_weight == Approx(0.2));
}

TEST_CASE("dynamic one-peer Exponential-2: one neighbor per iteration, "
          "2^0, 2^1, ... hops away in turn") {
  auto t = topology::make("exp2-one-peer", 8);
  REQUIRE(t);
  CHECK(t->period() == 3);
  CHECK(in_at(*t, 0, 1) == std::vector<uint32_t>{7});
  CHECK(in_at(*t, 0, 2) == std::vector<uint32_t>{6});
  CHECK(in_at(*t, 0, 3) == std::vector<uint32_t>{4});
  CHECK(in_at(*t, 0, 4) == std::vector<uint32_t>{7});
  CHECK(out_at(*t, 0, 1) == std::vector<uint32_t>{1});
  CHECK(out_at(*t, 0, 2) == std::vector<uint32_t>{2});
  CHECK(out_at(*t, 6, 3) == std::vector<uint32_t>{2});
  CHECK(t->row(0, 1).self_weight == Approx(0.5));
  CHECK(t->in_neighbors(0) == std::vector<uint32_t>{4, 6, 7});
  CHECK(t->out_neighbors(0) == std::vector<uint32_t>{1, 2, 4});
  auto t16 = topology::make("exp2-one-peer", 16);
  REQUIRE(t16);
  CHECK(t16->period() == 4);
  CHECK(in_at(*t16, 5, 4) == std::vector<uint32_t>{13});
  // For a power of two, one period averages exactly.
  std::vector<double> x(16);
  std::iota(x.begin(), x.end(), 0.0);
  for (uint64_t it = 1; it <= 4; ++it)
    x = step(*t16, x, it);
  for (auto v : x)
    CHECK(v == Approx(7.5));
}

TEST_CASE("ring, mesh, star and full topologies keep the average") {
  for (auto name : {"ring", "exp2", "mesh", "star", "full", "exp2-one-peer"}) {
    for (size_t n : {1, 2, 3, 6, 9, 16}) {
      INFO(name << " with " << n << " peers");
      auto t = topology::make(name, n);
      REQUIRE(t);
      CHECK(t->doubly_stochastic());
      std::vector<double> x(n);
      std::iota(x.begin(), x.end(), 1.0);
      const double mean = (static_cast<double>(n) + 1) / 2;
      for (uint64_t it = 1; it <= 400; ++it) {
        x = step(*t, x, it);
        CHECK(std::accumulate(x.begin(), x.end(), 0.0) / n == Approx(mean));
      }
      for (auto v : x)
        CHECK(v == Approx(mean).epsilon(1e-6));
    }
  }
  auto ring = topology::make("ring", 5);
  CHECK(in_at(*ring, 0, 1) == std::vector<uint32_t>{1, 4});
  auto mesh = topology::make("mesh", 6); // 2 x 3
  CHECK(in_at(*mesh, 0, 1) == std::vector<uint32_t>{1, 3});
  CHECK(in_at(*mesh, 4, 1) == std::vector<uint32_t>{1, 3, 5});
  // Metropolis-Hastings: 1 / (1 + max(degree 2, degree 3)).
  CHECK(mesh->row(0, 1).in[0].weight == Approx(0.25));
  auto star = topology::make("star", 5);
  CHECK(in_at(*star, 0, 1) == std::vector<uint32_t>{1, 2, 3, 4});
  CHECK(in_at(*star, 3, 1) == std::vector<uint32_t>{0});
  CHECK(star->row(3, 1).self_weight == Approx(0.8));
}

TEST_CASE("unknown topologies and zero peers are refused") {
  auto t = topology::make("torus", 4);
  REQUIRE_FALSE(t);
  CHECK(describe(t.error()).find("unknown topology 'torus'")
        != std::string::npos);
  CHECK_FALSE(topology::make("ring", 0));
}

TEST_CASE("a topology file of weighted edges is read and checked") {
  auto ok = write_file("ok", "# a directed ring of 3 with self weights\n"
                             "0 0 0.5\n0 2 0.5\n1 1 0.5\n1 0 0.5\n"
                             "2 2 0.5  # own\n2 1 0.5\n\n");
  auto t = topology::from_file(ok, 3);
  REQUIRE(t);
  CHECK(in_at(*t, 1, 1) == std::vector<uint32_t>{0});
  CHECK(out_at(*t, 1, 1) == std::vector<uint32_t>{2});
  CHECK(t->doubly_stochastic());

  auto expect_error = [](const std::string& path, size_t n,
                         const std::string& part) {
    auto r = topology::from_file(path, n);
    REQUIRE_FALSE(r);
    INFO(describe(r.error()));
    CHECK(describe(r.error()).find(part) != std::string::npos);
  };
  expect_error(write_file("sum", "0 0 0.5\n0 1 0.4\n1 1 0.5\n1 0 0.5\n"), 2,
               "weights of peer 0 (its own and its in-neighbors') sum to "
               "0.9");
  expect_error(write_file("disc", "0 0 1\n1 1 1\n"), 2, "not connected");
  expect_error(write_file("oneway", "0 0 1\n1 1 0.5\n1 0 0.5\n"), 2,
               "not connected");
  expect_error(write_file("index", "0 0 0.5\n0 7 0.5\n"), 2,
               ":2: peer index 7 is not below the number of peers, 2");
  expect_error(write_file("word", "0 zero 0.5\n"), 2,
               ":1: expected 'i j weight'");
  expect_error(write_file("weight", "0 1 1.5\n"), 2,
               ":1: weight must be in (0, 1]");
  expect_error(write_file("dup", "0 1 0.5\n0 1 0.5\n"), 2,
               ":2: edge 0 1 is also on line 1");
  expect_error("/nonexistent/topology.txt", 2, "cannot read topology file");
}
