#include "runtime/aggregation/fedavg.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <unordered_map>

#include "runtime/core/errors.hpp"

namespace fl {

fedavg::fedavg(uint64_t clients_per_round, double quorum, uint64_t seed)
  : clients_per_round_(clients_per_round), quorum_(quorum), seed_(seed) {}

std::vector<std::string>
fedavg::configure_fit(uint64_t round,
                      const std::vector<client_info>& available) {
  // Positions in id order, so the sample depends only on the set of clients,
  // not on the order in which they joined. Members arrive sorted; anything
  // else is ordered here first.
  auto by_id = [](const client_info& x, const client_info& y) {
    return x.id < y.id;
  };
  std::vector<size_t> order;
  if (!std::is_sorted(available.begin(), available.end(), by_id)) {
    order.resize(available.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
      return available[x].id < available[y].id;
    });
  }
  auto at = [&](size_t i) -> const std::string& {
    return available[order.empty() ? i : order[i]].id;
  };
  std::mt19937_64 rng{seed_ * 1000003u + round};
  const auto n = available.size();
  const auto k = std::min<size_t>(clients_per_round_, n);
  // Partial Fisher-Yates over positions, with the swaps kept in a map: the
  // same sample as swapping in a full array, in O(k) time and memory.
  std::unordered_map<size_t, size_t> moved;
  auto slot = [&](size_t i) {
    auto m = moved.find(i);
    return m == moved.end() ? i : m->second;
  };
  std::vector<std::string> ids;
  ids.reserve(k);
  for (size_t i = 0; i < k; ++i) {
    std::uniform_int_distribution<size_t> pick{i, n - 1};
    const auto j = pick(rng);
    const auto chosen = slot(j);
    moved[j] = slot(i);
    ids.push_back(at(chosen));
  }
  return ids;
}

double fedavg::fit_weight(const fit_result& r) const {
  return static_cast<double>(r.num_samples);
}

size_t fedavg::required_results(size_t sampled) const {
  auto n = static_cast<size_t>(
    std::ceil(quorum_ * static_cast<double>(sampled) - 1e-9));
  return std::max<size_t>(1, n);
}

caf::error fedavg::aggregate_fit(uint64_t round,
                                 const std::vector<fit_result>& results,
                                 const std::vector<fit_failure>& failures,
                                 size_t sampled) const {
  const auto need = required_results(sampled);
  if (results.size() >= need)
    return caf::none;
  return make_fl_error(errc::timeout,
                       "round " + std::to_string(round) + ": "
                         + std::to_string(results.size()) + " of "
                         + std::to_string(sampled) + " updates ("
                         + std::to_string(failures.size())
                         + " failed), quorum needs " + std::to_string(need));
}

} // namespace fl
