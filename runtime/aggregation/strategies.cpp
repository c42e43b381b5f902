#include "runtime/aggregation/strategies.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

caf::error bad(std::string what) {
  return make_fl_error(errc::invalid_config, std::move(what));
}

bool is_adaptive(const std::string& n) {
  return n == "fedadam" || n == "fedyogi" || n == "fedadagrad";
}

double server_lr_of(const strategy_settings& s) {
  if (s.server_lr > 0)
    return s.server_lr;
  return is_adaptive(s.name) ? 0.01 : 1.0;
}

const std::vector<std::string>& builtin_names() {
  static const std::vector<std::string> xs{
    "fedavg",   "fedavgm", "fedadam",      "fedyogi", "fedadagrad",
    "fedprox",  "scaffold", "fednova",     "median",  "trimmed-mean",
    "krum",     "multi-krum", "norm-bound"};
  return xs;
}

/// The robust rule a strategy's name selects, with its settings.
robust_settings robust_of(const strategy_settings& s) {
  robust_settings r;
  if (s.name == "median")
    r.rule = combine_rule::median;
  else if (s.name == "trimmed-mean")
    r.rule = combine_rule::trimmed_mean;
  else if (s.name == "krum")
    r.rule = combine_rule::krum;
  else if (s.name == "multi-krum")
    r.rule = combine_rule::multi_krum;
  r.trim_beta = s.trim_beta;
  r.krum_f = s.krum_f;
  r.multi_krum_m = s.multi_krum_m;
  return r;
}

caf::error check(const strategy_settings& s) {
  if (s.clients_per_round < 1)
    return bad("federation.clients_per_round must be >= 1");
  if (!(s.server_lr >= 0) || !std::isfinite(s.server_lr))
    return bad("strategy.server_lr must be >= 0 (0 = the default)");
  if (!(s.server_momentum >= 0 && s.server_momentum < 1))
    return bad("strategy.server_momentum must be in [0, 1)");
  if (!(s.beta1 >= 0 && s.beta1 < 1))
    return bad("strategy.beta1 must be in [0, 1)");
  if (!(s.beta2 >= 0 && s.beta2 < 1))
    return bad("strategy.beta2 must be in [0, 1)");
  if (!(s.tau > 0) || !std::isfinite(s.tau))
    return bad("strategy.tau must be > 0");
  if (!(s.prox_mu >= 0) || !std::isfinite(s.prox_mu))
    return bad("training.prox_mu must be >= 0");
  if (!(s.norm_bound >= 0) || !std::isfinite(s.norm_bound))
    return bad("strategy.norm_bound must be >= 0 (0 = 1.0)");
  if (s.name == "scaffold" && !(s.client_lr > 0))
    return bad("scaffold needs the clients' learning rate (training.lr)");
  if (auto err = validate(robust_of(s), s.clients_per_round))
    return err;
  return caf::none;
}

std::mutex registry_mtx;

std::map<std::string, strategy_factory>& registered() {
  static std::map<std::string, strategy_factory> xs;
  return xs;
}

} // namespace

builtin_strategy::builtin_strategy(strategy_settings s)
  : fedavg(s.clients_per_round, s.quorum, s.seed), cfg_(std::move(s)) {}

config_map builtin_strategy::fit_config(uint64_t, const std::string&) const {
  config_map m;
  if (cfg_.name == "fedprox")
    m["prox_mu"] = cfg_.prox_mu > 0 ? cfg_.prox_mu : 0.01;
  return m;
}

double builtin_strategy::fit_weight(const fit_result& r) const {
  const auto n = static_cast<double>(r.num_samples);
  if (cfg_.name == "fednova" && r.metrics.local_steps > 0)
    return n / static_cast<double>(r.metrics.local_steps);
  return n;
}

aggregation_plan builtin_strategy::plan() const {
  aggregation_plan p;
  const auto& n = cfg_.name;
  p.robust = robust_of(cfg_);
  if (n == "norm-bound")
    p.norm_bound = cfg_.norm_bound > 0 ? cfg_.norm_bound : 1.0;
  const double lr = server_lr_of(cfg_);
  if (n == "fedavgm") {
    const double beta = cfg_.server_momentum;
    p.optimizer = [lr, beta] { return make_server_momentum(lr, beta); };
  } else if (is_adaptive(n)) {
    const auto kind = n == "fedadam"   ? adaptive_kind::adam
                      : n == "fedyogi" ? adaptive_kind::yogi
                                       : adaptive_kind::adagrad;
    const auto s = cfg_;
    p.optimizer = [kind, lr, s] {
      return make_adaptive_optimizer(kind, lr, s.beta1, s.beta2, s.tau);
    };
  } else if (n == "scaffold") {
    p.control_variates = true;
    p.total_clients = cfg_.total_clients;
    p.client_lr = cfg_.client_lr;
    if (lr != 1.0) // the global step size eta_g of SCAFFOLD
      p.optimizer = [lr] { return make_server_momentum(lr, 0.0); };
  }
  return p;
}

double fednova_scale(const std::vector<fit_result>& results) {
  double n = 0;
  for (const auto& r : results) {
    if (r.metrics.local_steps == 0)
      return 1;
    n += static_cast<double>(r.num_samples);
  }
  if (!(n > 0))
    return 1;
  double tau_eff = 0, inv = 0;
  for (const auto& r : results) {
    const double p = static_cast<double>(r.num_samples) / n;
    const auto tau = static_cast<double>(r.metrics.local_steps);
    tau_eff += p * tau;
    inv += p / tau;
  }
  return tau_eff * inv;
}

double builtin_strategy::step_scale(
  const std::vector<fit_result>& results) const {
  return cfg_.name == "fednova" ? fednova_scale(results) : 1.0;
}

std::vector<std::string>
builtin_strategy::configure_evaluate(uint64_t round,
                                     const std::vector<client_info>& available) {
  if (cfg_.client_eval_every == 0 || round % cfg_.client_eval_every != 0)
    return {};
  // An independent sample from the training one (another seed stream).
  const auto k = cfg_.client_eval_clients > 0 ? cfg_.client_eval_clients
                                              : cfg_.clients_per_round;
  fedavg sampler{k, 1.0, cfg_.seed ^ 0x5eedc11e7u};
  return sampler.configure_fit(round, available);
}

std::vector<std::string> strategy_names() {
  std::vector<std::string> xs = builtin_names();
  {
    std::lock_guard<std::mutex> guard{registry_mtx};
    for (const auto& [name, make] : registered())
      if (std::find(xs.begin(), xs.end(), name) == xs.end())
        xs.push_back(name);
  }
  std::sort(xs.begin(), xs.end());
  return xs;
}

caf::expected<std::shared_ptr<strategy>>
make_strategy(const strategy_settings& s) {
  {
    std::lock_guard<std::mutex> guard{registry_mtx};
    auto i = registered().find(s.name);
    if (i != registered().end()) {
      auto make = i->second;
      return make(s);
    }
  }
  const auto& known = builtin_names();
  if (std::find(known.begin(), known.end(), s.name) == known.end()) {
    std::string list;
    for (const auto& n : strategy_names())
      list += (list.empty() ? "" : ", ") + n;
    return bad("unknown strategy '" + s.name + "'; known: " + list);
  }
  if (auto err = check(s))
    return err;
  return std::shared_ptr<strategy>{std::make_shared<builtin_strategy>(s)};
}

void register_strategy(const std::string& name, strategy_factory make) {
  std::lock_guard<std::mutex> guard{registry_mtx};
  registered()[name] = std::move(make);
}

} // namespace fl
