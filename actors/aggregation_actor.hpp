#pragma once

#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/interfaces.hpp"
#include "runtime/aggregation/aggregator.hpp"
#include "runtime/aggregation/model_guard.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/core/model_layout.hpp"

namespace fl {

struct aggregation_settings {
  /// Bounds on updates and candidates.
  guard_settings guard;
  /// Where checkpoint(round) writes model.ckpt; "" = checkpoints are refused.
  std::string checkpoint_dir;
  /// Run on a thread of its own (the default), so a fold of a big model or
  /// a GPU synchronisation never occupies a scheduler thread the serving
  /// actor needs. Deterministic tests turn it off.
  bool detached = true;
};

/// Spawns the aggregation actor for models with `layout` (protocol in
/// actors/interfaces.hpp). It takes ownership of `backend` (CPU or CUDA;
/// null = a CPU aggregator with all cores). Send reset(model_state) before
/// the first fold.
aggregation_actor spawn_aggregation_actor(caf::actor_system& sys,
                                          model_layout layout,
                                          std::shared_ptr<aggregator> backend,
                                          aggregation_settings s, loggers log);

} // namespace fl
