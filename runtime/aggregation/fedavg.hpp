#pragma once

#include "runtime/aggregation/strategy.hpp"

namespace fl {

/// FedAvg (McMahan et al. 2017, "Communication-Efficient Learning of Deep
/// Networks from Decentralized Data", arXiv:1602.05629): sample
/// `clients_per_round` clients uniformly without replacement, average their
/// parameters weighted by sample count. A round counts when at least
/// ceil(quorum * sampled) clients returned an update.
class fedavg : public strategy {
public:
  fedavg(uint64_t clients_per_round, double quorum, uint64_t seed);

  std::string name() const override { return "fedavg"; }
  std::vector<std::string>
  configure_fit(uint64_t round,
                const std::vector<client_info>& available) override;
  double fit_weight(const fit_result& r) const override;
  caf::error aggregate_fit(uint64_t round,
                           const std::vector<fit_result>& results,
                           const std::vector<fit_failure>& failures,
                           size_t sampled) const override;

  /// Updates needed for a round with `sampled` clients to count.
  size_t required_results(size_t sampled) const;

private:
  uint64_t clients_per_round_;
  double quorum_;
  uint64_t seed_;
};

} // namespace fl
