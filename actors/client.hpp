#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "runtime/core/logging.hpp"
#include "runtime/training/trainer.hpp"

namespace fl {

/// Everything one federated client is: an id, its data partition (indices
/// into the trainers' training set) and its local hyper-parameters. The
/// model itself lives in the training pool's workers, so a process can host
/// thousands of clients at the cost of their index lists.
struct client_settings {
  std::string id;
  std::shared_ptr<const std::vector<int64_t>> samples;
  /// The layout of the model it trains (announced at join: a server with
  /// another model refuses it).
  model_layout layout;
  fit_config fit;
  uint64_t seed = 0;
  /// Simulated slowness: the client reports its update only after
  /// (slowdown - 1) x its training time more (1 = no delay).
  double slowdown = 1;
};

/// Spawns a client: it joins `upstream` (a server, scheduler or upstream
/// connector). The Welcome's mode decides how it works: sync (passive: on
/// each Activation, train in `pool` and send an Update) or async/fedbuff
/// (active: Request a model, train, send an Update -- params, or the delta
/// in fedbuff -- and repeat). A failed fit is reported upstream at once as
/// an Error naming the client and round. It ends on Exit, when its upstream
/// is lost (with that error) or refuses its join (with the refusal).
caf::actor spawn_client(caf::actor_system& sys, client_settings s,
                        caf::actor upstream, caf::actor pool, loggers log);

} // namespace fl
