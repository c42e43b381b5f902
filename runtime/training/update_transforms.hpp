#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "runtime/compression/compressor.hpp"
#include "runtime/training/trainer.hpp"

namespace fl {

/// A simulated Byzantine client's behaviour (for evaluating robust rules):
/// what it does to its honest update delta d = client - global.
///   signflip: sends -scale * d
///   noise:    sends Gaussian noise with standard deviation `scale`
///   huge:     sends the constant `scale` in every coordinate
struct byzantine_settings {
  std::string attack = "none"; ///< none | signflip | noise | huge
  double scale = 0;            ///< 0 = the attack's default (4, 1, 100)
  uint64_t seed = 0;
};

/// Checks the settings. Errors: `invalid_config`.
caf::error validate(const byzantine_settings& s);

/// The effective scale (the setting, or the attack's default).
double attack_scale(const byzantine_settings& s);

/// Overwrites `params` (trained from `global`) with the attack's update.
void apply_attack(const byzantine_settings& s, uint64_t round_seed,
                  span<const float> global, std::vector<float>& params);

/// The fit_input::finish hook of one client: applies the attack (when its
/// kind is not "none") and then compresses the delta with `comp` (when not
/// null; the output then carries `packed` instead of params).
std::function<caf::error(const fit_input&, fit_output&)>
make_update_finish(byzantine_settings attack, std::shared_ptr<compressor> comp);

} // namespace fl
