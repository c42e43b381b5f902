#include <catch2/catch.hpp>

#include <algorithm>
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

TEST_CASE("iid unbalanced follows FedLab's log-normal split",
          "[partition]") {
  auto p = partition_iid_unbalanced(6000, 50, 0.5, 3);
  REQUIRE(p);
  CHECK(check_disjoint(*p) == 6000); // the shortfall went to client 0
  size_t lo = SIZE_MAX, hi = 0;
  for (const auto& c : *p) {
    lo = std::min(lo, c.size());
    hi = std::max(hi, c.size());
  }
  CHECK(lo >= 1);
  CHECK(hi > lo);
  CHECK(*partition_iid_unbalanced(6000, 50, 0.5, 3) == *p);
  // sigma 0: floor(n/K) each, the remainder unused (as in FedLab).
  auto even = partition_iid_unbalanced(1003, 10, 0, 3);
  REQUIRE(even);
  for (const auto& c : *even)
    CHECK(c.size() == 100);
  CHECK(partition_iid_unbalanced(1000, 10, -1, 3).error()
        == errc::invalid_config);
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

namespace {

/// n samples of 10 classes, class-sorted (as FedLab's targets often are).
std::vector<int64_t> sorted_labels(size_t n) {
  std::vector<int64_t> xs(n);
  for (size_t i = 0; i < n; ++i)
    xs[i] = static_cast<int64_t>(i * 10 / n);
  return xs;
}

/// FedLab's defining properties of hetero_dir_partition.
void check_dirichlet(const partition& p, const std::vector<int64_t>& ls,
                     uint64_t min_samples) {
  const double cap = static_cast<double>(ls.size())
                     / static_cast<double>(p.size());
  // Every sample is used once, so class counts sum to the dataset's.
  CHECK(check_disjoint(p) == ls.size());
  for (size_t k = 0; k < p.size(); ++k) {
    const auto& c = p[k];
    CHECK(c.size() >= min_samples);
    // The cap: a client holding n/K or more gets nothing more, so before
    // the class that took it over (classes go in order) it held less than
    // n/K. The last client also takes the rounding leftover of each later
    // class (at most one sample each, as numpy's split gives it in
    // FedLab), so for it the crossing class is the last with 2 or more.
    const size_t least = k + 1 == p.size() ? 2 : 1;
    std::vector<size_t> counts(10);
    for (auto i : c)
      ++counts[static_cast<size_t>(ls[static_cast<size_t>(i)])];
    size_t crossing = 0;
    for (size_t cls = 0; cls < counts.size(); ++cls)
      if (counts[cls] >= least)
        crossing = cls;
    size_t before = 0;
    for (size_t cls = 0; cls < crossing; ++cls)
      before += counts[cls];
    CHECK(static_cast<double>(before) < cap);
  }
}

} // namespace

TEST_CASE("Dirichlet skew follows FedLab: minimum size, cap, all samples",
          "[partition]") {
  auto ls = labels();
  auto p = partition_dirichlet(ls, 10, 0.5, 0);
  REQUIRE(p);
  check_dirichlet(*p, ls, 10); // min size: the number of classes
  CHECK(*partition_dirichlet(ls, 10, 0.5, 0) == *p);
  auto big = sorted_labels(60000);
  for (double alpha : {0.3, 0.1}) {
    auto q = partition_dirichlet(big, 100, alpha, 1);
    REQUIRE(q);
    check_dirichlet(*q, big, 10);
  }
  auto strict = partition_dirichlet(big, 100, 0.3, 1, 200);
  REQUIRE(strict);
  check_dirichlet(*strict, big, 200);
  // A tiny alpha puts each class on about one client: 50 clients cannot
  // all get 10 samples, so it fails and says why.
  auto tiny = partition_dirichlet(ls, 50, 1e-4, 0);
  REQUIRE(!tiny);
  CHECK(tiny.error() == errc::invalid_config);
  CHECK_THAT(describe(tiny.error()), Catch::Contains("too small"));
}

TEST_CASE("label quantity skew follows FedLab: class c mod C plus k - 1 "
          "drawn, near-equal parts",
          "[partition]") {
  auto ls = labels();
  auto p = partition_labels(ls, 20, 3, 0);
  REQUIRE(p);
  CHECK(check_disjoint(*p) == 1000); // 20 clients cover all 10 classes
  std::vector<std::vector<size_t>> parts(10);
  for (size_t c = 0; c < p->size(); ++c) {
    const auto& xs = (*p)[c];
    CHECK(classes_of(xs, ls) == 3);
    std::vector<size_t> counts(10);
    for (auto i : xs)
      ++counts[static_cast<size_t>(ls[static_cast<size_t>(i)])];
    CHECK(counts[c % 10] > 0);
    for (size_t k = 0; k < 10; ++k)
      if (counts[k] > 0)
        parts[k].push_back(counts[k]);
  }
  for (const auto& ps : parts) {
    REQUIRE(!ps.empty());
    auto [lo, hi] = std::minmax_element(ps.begin(), ps.end());
    CHECK(*hi - *lo <= 1);
  }
  // Fewer clients than classes: the classes nobody holds are left out.
  auto few = partition_labels(ls, 3, 1, 0);
  REQUIRE(few);
  CHECK(check_disjoint(*few) == 300);
  CHECK(partition_labels(ls, 20, 11, 0).error() == errc::invalid_config);
}

TEST_CASE("the partition report counts samples and classes", "[partition]") {
  auto ls = labels();
  auto p = partition_labels(ls, 10, 2, 0); // every class is held
  REQUIRE(p);
  auto text = partition_report(*p, ls, 10);
  CHECK_THAT(text, Catch::Contains("clients 10, samples 1000"));
  CHECK_THAT(text, Catch::Contains("classes with >= 10 samples 2.00"));
  auto st = summarize(*p, ls, 10);
  size_t lo = SIZE_MAX, hi = 0;
  std::vector<size_t> sizes;
  for (const auto& c : *p) {
    lo = std::min(lo, c.size());
    hi = std::max(hi, c.size());
    sizes.push_back(c.size());
  }
  std::sort(sizes.begin(), sizes.end());
  CHECK(st.min_size == lo);
  CHECK(st.max_size == hi);
  CHECK(st.median_size == sizes[4]);
  CHECK(st.mean_classes_10 == 2.0);
}
