#pragma once

#include "runtime/aggregation/fedavg.hpp"
#include "runtime/aggregation/strategy_registry.hpp"

namespace fl {

/// The built-in strategies: FedAvg's uniform sampling and quorum, plus
/// what the name selects (each cited where it is applied):
///   fedavg                      weighted mean
///   fedavgm                     server momentum
///   fedadam, fedyogi, fedadagrad  adaptive server optimizers
///   fedprox                     clients get "prox_mu" in their config
///   scaffold                    control variates
///   fednova                     normalized averaging
///   median, trimmed-mean, krum, multi-krum   robust rules
///   norm-bound                  clipped updates, then the mean
class builtin_strategy : public fedavg {
public:
  explicit builtin_strategy(strategy_settings s);

  std::string name() const override { return cfg_.name; }
  config_map fit_config(uint64_t round, const std::string& id) const override;
  double fit_weight(const fit_result& r) const override;
  aggregation_plan plan() const override;
  double step_scale(const std::vector<fit_result>& results) const override;
  std::vector<std::string>
  configure_evaluate(uint64_t round,
                     const std::vector<client_info>& available) override;

  const strategy_settings& settings() const { return cfg_; }

private:
  strategy_settings cfg_;
};

/// FedNova's step scale (Wang et al. 2020, "Tackling the Objective
/// Inconsistency Problem in Heterogeneous Federated Optimization",
/// arXiv:2007.07481): with p_i = n_i / sum n and tau_i local steps, the
/// update x + tau_eff sum_i p_i (y_i - x) / tau_i, where tau_eff =
/// sum_i p_i tau_i, equals x + scale (m - x) for the mean m weighted by
/// p_i / tau_i, with scale = tau_eff * sum_i p_i / tau_i. Returns 1 when a
/// result has no step count.
double fednova_scale(const std::vector<fit_result>& results);

} // namespace fl
