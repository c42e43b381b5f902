#include "runtime/training/trainer.hpp"

#include <cmath>

namespace fl {

caf::expected<fit_config> apply_instructions(fit_config base,
                                             const config_map& m) {
  auto get = [&](const char* key, double fallback, double lo, double hi,
                 bool lo_open) -> caf::expected<double> {
    auto x = number_or(m, key, fallback);
    if (!x)
      return x;
    const bool low_ok = lo_open ? *x > lo : *x >= lo;
    if (!low_ok || *x > hi || !std::isfinite(*x))
      return make_fl_error(errc::invalid_field,
                           "instruction " + std::string{key} + " = "
                             + std::to_string(*x) + " is out of range");
    return x;
  };
  auto epochs = get("epochs", static_cast<double>(base.epochs), 1, 10000,
                    false);
  auto batch = get("batch_size", static_cast<double>(base.batch_size), 1,
                   1 << 20, false);
  auto lr = get("lr", base.lr, 0, 1e3, true);
  auto momentum = get("momentum", base.momentum, 0, 0.9999, false);
  auto decay = get("weight_decay", base.weight_decay, 0, 1e3, false);
  auto mu = get("prox_mu", base.prox_mu, 0, 1e6, false);
  for (auto* x : {&epochs, &batch, &lr, &momentum, &decay, &mu})
    if (!*x)
      return std::move(x->error());
  base.epochs = static_cast<int64_t>(*epochs);
  base.batch_size = static_cast<int64_t>(*batch);
  base.lr = *lr;
  base.momentum = *momentum;
  base.weight_decay = *decay;
  base.prox_mu = *mu;
  return base;
}

} // namespace fl
