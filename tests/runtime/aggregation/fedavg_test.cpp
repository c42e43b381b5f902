#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "runtime/core/errors.hpp"
#include "runtime/aggregation/fedavg.hpp"

using namespace fl;

namespace {

std::vector<client_info> clients(size_t n) {
  std::vector<client_info> xs;
  for (size_t i = 0; i < n; ++i)
    xs.push_back(client_info{"c" + std::to_string(i), 10});
  return xs;
}

} // namespace

TEST_CASE("FedAvg samples k distinct clients, reproducibly", "[fedavg]") {
  fedavg s{10, 1.0, 0};
  auto a = s.configure_fit(1, clients(100));
  CHECK(a.size() == 10);
  CHECK(std::set<std::string>(a.begin(), a.end()).size() == 10);
  fedavg same_seed{10, 1.0, 0};
  CHECK(same_seed.configure_fit(1, clients(100)) == a);
  // Join order does not matter.
  auto shuffled = clients(100);
  std::reverse(shuffled.begin(), shuffled.end());
  CHECK(same_seed.configure_fit(1, shuffled) == a);
  CHECK(s.configure_fit(2, clients(100)) != a);
  fedavg other_seed{10, 1.0, 1};
  CHECK(other_seed.configure_fit(1, clients(100)) != a);
  CHECK(s.configure_fit(1, clients(3)).size() == 3);
}

TEST_CASE("FedAvg's sparse sampling picks what a full Fisher-Yates picks",
          "[fedavg]") {
  // The sample the engine always drew: shuffle the first k of the sorted
  // ids in place. The sampler now keeps only the k swaps it makes.
  auto dense = [](std::vector<client_info> xs, size_t k, uint64_t seed,
                  uint64_t round) {
    std::vector<std::string> ids;
    for (const auto& x : xs)
      ids.push_back(x.id);
    std::sort(ids.begin(), ids.end());
    std::mt19937_64 rng{seed * 1000003u + round};
    k = std::min(k, ids.size());
    for (size_t i = 0; i < k; ++i) {
      std::uniform_int_distribution<size_t> pick{i, ids.size() - 1};
      std::swap(ids[i], ids[pick(rng)]);
    }
    ids.resize(k);
    return ids;
  };
  for (size_t n : {1, 7, 100, 5000})
    for (size_t k : {1, 3, 10, 200})
      for (uint64_t round : {1, 2, 9}) {
        fedavg s{k, 1.0, 4};
        CHECK(s.configure_fit(round, clients(n)) == dense(clients(n), k, 4,
                                                          round));
      }
}

TEST_CASE("FedAvg weighs by sample count and enforces the quorum",
          "[fedavg]") {
  fedavg s{10, 0.8, 0};
  CHECK(s.fit_weight(fit_result{"c", 600, {}, {}, 0}) == 600);
  CHECK(s.required_results(10) == 8);
  CHECK(s.required_results(1) == 1);
  std::vector<fit_result> eight(8), seven(7);
  std::vector<fit_failure> two(2), three(3);
  CHECK(!s.aggregate_fit(1, eight, two, 10));
  CHECK(s.aggregate_fit(1, seven, three, 10) == errc::timeout);
  CHECK(fedavg{10, 1.0, 0}.aggregate_fit(1, {}, {}, 0) == errc::timeout);
}
