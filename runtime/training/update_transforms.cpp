#include "runtime/training/update_transforms.hpp"

#include <cmath>
#include <random>

#include "runtime/core/errors.hpp"

namespace fl {

caf::error validate(const byzantine_settings& s) {
  if (s.attack != "none" && s.attack != "signflip" && s.attack != "noise"
      && s.attack != "huge")
    return make_fl_error(errc::invalid_config,
                         "federation.byzantine_attack must be none, signflip, "
                         "noise or huge, got '" + s.attack + "'");
  if (!(s.scale >= 0) || !std::isfinite(s.scale))
    return make_fl_error(errc::invalid_config,
                         "federation.byzantine_scale must be >= 0 (0 = the "
                         "attack's default)");
  return caf::none;
}

double attack_scale(const byzantine_settings& s) {
  if (s.scale > 0)
    return s.scale;
  if (s.attack == "signflip")
    return 4;
  if (s.attack == "noise")
    return 1;
  return 100;
}

void apply_attack(const byzantine_settings& s, uint64_t round_seed,
                  span<const float> global, std::vector<float>& params) {
  const double scale = attack_scale(s);
  if (s.attack == "signflip") {
    for (size_t i = 0; i < params.size(); ++i)
      params[i] = static_cast<float>(global[i]
                                     - scale * (params[i] - global[i]));
  } else if (s.attack == "noise") {
    std::mt19937_64 rng{s.seed * 0x9e3779b97f4a7c15ull + round_seed};
    std::normal_distribution<float> noise{0.0f, static_cast<float>(scale)};
    for (size_t i = 0; i < params.size(); ++i)
      params[i] = global[i] + noise(rng);
  } else if (s.attack == "huge") {
    for (size_t i = 0; i < params.size(); ++i)
      params[i] = global[i] + static_cast<float>(scale);
  }
}

std::function<caf::error(const fit_input&, fit_output&)>
make_update_finish(byzantine_settings attack,
                   std::shared_ptr<compressor> comp) {
  const bool attacks = attack.attack != "none";
  if (!attacks && !comp)
    return {};
  return [attack, attacks, comp](const fit_input& in,
                                 fit_output& out) -> caf::error {
    if (!out.params)
      return make_fl_error(errc::invalid_field, "the fit produced no model");
    if (attacks)
      apply_attack(attack, in.seed, in.global, *out.params);
    if (!comp)
      return caf::none;
    // The delta in place, then its encoding (with error feedback).
    auto& p = *out.params;
    for (size_t i = 0; i < p.size(); ++i)
      p[i] -= in.global[i];
    auto packed = comp->compress(span<const float>{p});
    if (!packed)
      return std::move(packed.error());
    out.packed = std::make_shared<const encoded_tensor>(std::move(*packed));
    out.params.reset();
    return caf::none;
  };
}

} // namespace fl
