#include "runtime/aggregation/fedavg.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "runtime/core/errors.hpp"

namespace fl {

fedavg::fedavg(uint64_t clients_per_round, double quorum, uint64_t seed)
  : clients_per_round_(clients_per_round), quorum_(quorum), seed_(seed) {}

std::vector<std::string>
fedavg::configure_fit(uint64_t round,
                      const std::vector<client_info>& available) {
  std::vector<std::string> ids;
  ids.reserve(available.size());
  for (const auto& c : available)
    ids.push_back(c.id);
  // Sort first so the sample depends only on the set of clients, not on the
  // order in which they joined.
  std::sort(ids.begin(), ids.end());
  std::mt19937_64 rng{seed_ * 1000003u + round};
  const auto k = std::min<size_t>(clients_per_round_, ids.size());
  // Partial Fisher-Yates: the first k positions are a uniform sample.
  for (size_t i = 0; i < k; ++i) {
    std::uniform_int_distribution<size_t> pick{i, ids.size() - 1};
    std::swap(ids[i], ids[pick(rng)]);
  }
  ids.resize(k);
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
