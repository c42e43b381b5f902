#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "runtime/core/logging.hpp"
#include "runtime/training/trainer.hpp"

namespace fl {

/// Spawns `workers` training workers, each a detached actor (its own thread,
/// so training never blocks a scheduler thread or a mailbox) with its own
/// trainer from `make`, behind one round-robin pool handle. Requests:
/// `fit_input -> fit_output` and `eval_input -> eval_output`.
/// `workers` = 0 means one per hardware thread. The pool ends when it gets
/// an exit message (e.g. `anon_send_exit(pool, exit_reason::user_shutdown)`).
caf::actor spawn_training_pool(caf::actor_system& sys, size_t workers,
                               const trainer_factory& make, loggers log);

/// Spawns one detached worker (used by the server to evaluate).
caf::actor spawn_training_worker(caf::actor_system& sys,
                                 std::unique_ptr<trainer> t, loggers log);

} // namespace fl
