#pragma once

#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/interfaces.hpp"
#include "runtime/aggregation/aggregator.hpp"
#include "runtime/aggregation/strategy.hpp"
#include "runtime/aggregation/model_guard.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/flat_model.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/core/model_layout.hpp"
#include "runtime/storage/strategy_state.hpp"

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
  /// How updates become the next model (the strategy's plan): streaming
  /// mean or a robust rule, norm bound, server optimizer, control
  /// variates.
  aggregation_plan plan;
  /// A robust rule keeps at most this many updates of one sum resident
  /// (the round's sample or FedBuff's K); more are refused. 0 = no bound.
  uint64_t resident_limit = 0;
  /// State to start from (a resumed run): server optimizer moments and
  /// control variates, as saved next to the model checkpoint.
  strategy_state initial_state;
};

/// Spawns the aggregation actor for models with `layout` (protocol in
/// actors/interfaces.hpp). It takes ownership of `backend` (CPU or CUDA;
/// null = a CPU aggregator with all cores). Send reset(model_state) before
/// the first fold.
aggregation_actor spawn_aggregation_actor(caf::actor_system& sys,
                                          model_layout layout,
                                          std::shared_ptr<aggregator> backend,
                                          aggregation_settings s, loggers log);

/// The update `up` as the aggregation actor takes it, with `weight`:
/// ownership of its bytes (dense or compressed) passes, nothing is copied.
inline agg_update to_agg_update(update_msg& up, double weight) {
  agg_update u;
  u.node_id = up.node_id;
  u.kind = up.model.kind;
  u.values = up.model.values;
  u.owner = std::move(up.model.owner);
  u.weight = weight;
  u.packed = std::move(up.model.packed);
  u.local_steps = up.metrics.local_steps;
  return u;
}

/// What a serving actor holds after start_aggregation().
struct aggregation_start {
  aggregation_actor agg;
  model_state model; ///< the first immutable version of the global model
};

/// Spawns the aggregation actor of the serving actor `self`, linked to it
/// (they end together), holding version `version` of `initial`. The initial
/// model becomes the first immutable version as it is (no copy): nobody may
/// write it afterwards.
template <class Self>
aggregation_start start_aggregation(Self* self,
                                    std::shared_ptr<const flat_model> initial,
                                    uint64_t version,
                                    std::shared_ptr<aggregator> backend,
                                    aggregation_settings s,
                                    const loggers& log) {
  model_state m{version, initial->values(), initial};
  auto agg = spawn_aggregation_actor(self->system(), initial->layout(),
                                     std::move(backend), std::move(s), log);
  self->link_to(agg);
  self->send(agg, agg_reset_atom::value, m);
  return {std::move(agg), std::move(m)};
}

/// Hands the update `u` of `r.node_id`, admitted into the round collector
/// of the serving actor `self` (a sync server or scheduler whose state has
/// `agg`, `collector` and `log`), to its aggregation actor. When the answer
/// comes, the fold or its refusal is recorded in the collector, unless the
/// round was abandoned meanwhile, and `then(folded)` runs (to account bytes
/// and close a complete round).
template <class Self, class Then>
void fold_for_round(Self* self, agg_update u, fit_result r, Then then) {
  auto& st = self->state;
  const auto round = st.collector.round();
  self->request(st.agg, caf::infinite, agg_fold_atom::value, std::move(u))
    .then(
      [self, r, round, then](fold_receipt&) {
        auto& s = self->state;
        if (s.collector.round() != round)
          return; // the round was abandoned
        s.collector.folded(r);
        then(true);
      },
      [self, id = r.node_id, round, then](caf::error& err) {
        auto& s = self->state;
        if (s.collector.round() != round)
          return;
        s.log.node->warn("round {}: update from {} refused: {}", round, id,
                         describe(err));
        s.collector.fold_failed(id, std::move(err));
        then(false);
      });
}

} // namespace fl
