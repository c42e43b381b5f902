#include <catch2/catch.hpp>

#include <numeric>
#include <set>

#include "runtime/core/errors.hpp"
#include "runtime/data/partition.hpp"

using namespace fl;

namespace {

/// 1000 samples, 10 classes of 100 (labels 0,1,...,9,0,1,...).
std::vector<int64_t> labels() {
  std::vector<int64_t> xs(1000);
  for (size_t i = 0; i < xs.size(); ++i)
    xs[i] = static_cast<int64_t>(i % 10);
  return xs;
}

/// Every index appears at most once overall; returns how many were used.
size_t check_disjoint(const partition& p) {
  std::set<int64_t> seen;
  size_t n = 0;
  for (const auto& c : p)
    for (auto i : c) {
      CHECK(seen.insert(i).second);
      ++n;
    }
  return n;
}

size_t classes_of(const std::vector<int64_t>& client,
                  const std::vector<int64_t>& ls) {
  std::set<int64_t> cs;
  for (auto i : client)
    cs.insert(ls[static_cast<size_t>(i)]);
  return cs.size();
}

} // namespace

TEST_CASE("iid balanced gives exact equal shares", "[partition]") {
  auto p = partition_iid(60000, 100, 0);
  REQUIRE(p);
  REQUIRE(p->size() == 100);
  for (const auto& c : *p)
    CHECK(c.size() == 600);
  CHECK(check_disjoint(*p) == 60000);
  CHECK(*partition_iid(60000, 100, 0) == *p); // reproducible
  CHECK(*partition_iid(60000, 100, 1) != *p);
  auto uneven = partition_iid(10, 3, 0);
  CHECK((*uneven)[0].size() == 4);
  CHECK((*uneven)[2].size() == 3);
  CHECK(partition_iid(2, 3, 0).error() == errc::invalid_config);
}

TEST_CASE("iid unbalanced covers everything with uneven sizes",
          "[partition]") {
  auto p = partition_iid_unbalanced(6000, 50, 0.5, 3);
  REQUIRE(p);
  CHECK(check_disjoint(*p) == 6000);
  size_t lo = SIZE_MAX, hi = 0;
  for (const auto& c : *p) {
    lo = std::min(lo, c.size());
    hi = std::max(hi, c.size());
  }
  CHECK(lo >= 1);
  CHECK(hi > lo);
  CHECK(*partition_iid_unbalanced(6000, 50, 0.5, 3) == *p);
}

TEST_CASE("shards give each client k shards of sorted labels",
          "[partition]") {
  auto ls = labels();
  auto p = partition_shards(ls, 50, 2, 0);
  REQUIRE(p);
  CHECK(check_disjoint(*p) == 1000);
  for (const auto& c : *p) {
    CHECK(c.size() == 20); // 100 shards of 10 samples
    CHECK(classes_of(c, ls) <= 2);
  }
}

TEST_CASE("Dirichlet skew gives every client data or a clear error",
          "[partition]") {
  auto ls = labels();
  auto p = partition_dirichlet(ls, 10, 0.5, 0);
  REQUIRE(p);
  CHECK(check_disjoint(*p) == 1000);
  for (const auto& c : *p)
    CHECK(c.size() >= 10);
  CHECK(*partition_dirichlet(ls, 10, 0.5, 0) == *p);
  // A tiny alpha puts each class on about one client: 50 clients cannot
  // all get 10 samples, so it fails and says why.
  auto tiny = partition_dirichlet(ls, 50, 1e-4, 0);
  REQUIRE(!tiny);
  CHECK(tiny.error() == errc::invalid_config);
  CHECK_THAT(describe(tiny.error()), Catch::Contains("too small"));
}

TEST_CASE("label quantity skew gives exactly k classes per client",
          "[partition]") {
  auto ls = labels();
  auto p = partition_labels(ls, 20, 2, 0);
  REQUIRE(p);
  CHECK(check_disjoint(*p) == 1000);
  for (const auto& c : *p)
    CHECK(classes_of(c, ls) == 2);
  CHECK(partition_labels(ls, 20, 11, 0).error() == errc::invalid_config);
}

TEST_CASE("the partition report counts samples and classes", "[partition]") {
  auto ls = labels();
  auto p = partition_labels(ls, 5, 2, 0);
  REQUIRE(p);
  auto text = partition_report(*p, ls, 10);
  CHECK_THAT(text, Catch::Contains("clients 5, samples 1000"));
}
