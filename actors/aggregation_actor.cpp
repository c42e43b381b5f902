// The aggregation actor: the only place a serving node folds, mixes or
// guards a model (protocol in actors/interfaces.hpp).
//
// A candidate global model is always a fresh buffer: finalize writes the
// mean into it, mix and apply start from the current model. When the guard
// accepts it, the buffer becomes the new immutable version that activations,
// evaluation and checkpoints share, so accepting a model copies nothing.

#include "actors/aggregation_actor.hpp"

#include <cmath>
#include <utility>
#include <vector>

#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>

#include "runtime/aggregation/aggregate.hpp"
#include "runtime/storage/checkpoint.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

namespace {

struct aggregation_state {
  model_layout layout;
  std::shared_ptr<aggregator> backend;
  aggregation_settings cfg;
  loggers log;
  model_state current;
  double current_norm = 0; ///< ||current||, for the change bound
  sum_kind kind = sum_kind::params;
  /// An upper bound on the sum of the updates' weights (begin): the backend
  /// gets weights divided by it, which keeps its exact sum in range.
  double budget = 1;
  /// Sums that decide the mean, exact so that they do not depend on the
  /// order of the folds: the updates' weights (for a delta sum, their
  /// number) and the normalised weights the backend was given.
  exact_sum total_weight;
  exact_sum backend_weight;
  uint64_t rejections = 0; ///< consecutive rejected candidates
  static inline const char* name = "fl.aggregation";
};

using agg_actor = aggregation_actor::stateful_pointer<aggregation_state>;

span<const float> current_values(const aggregation_state& st) {
  return st.current.values;
}

/// A fresh buffer of `n` floats, left uninitialised: candidates are written
/// whole before they are read, and zeroing 400 MB costs a pass of its own.
struct buffer {
  std::shared_ptr<float> data;
  size_t size = 0;
  span<float> values() const { return {data.get(), size}; }
};

buffer fresh_buffer(size_t n) {
  return buffer{std::shared_ptr<float>(new float[std::max<size_t>(n, 1)],
                                       std::default_delete<float[]>()),
                n};
}

/// A fresh candidate as a model version (not yet accepted).
model_state as_version(uint64_t version, buffer xs) {
  span<const float> values{xs.data.get(), xs.size};
  return model_state{version, values, std::move(xs.data)};
}

caf::error begin_sum(aggregation_state& st, sum_kind kind) {
  st.kind = kind;
  st.total_weight.clear();
  st.backend_weight.clear();
  return st.backend->begin(st.layout);
}

void set_current(aggregation_state& st, model_state m) {
  st.current = std::move(m);
  st.current_norm = l2_norm(current_values(st));
}

/// The change an update makes to the current model, checked against the
/// guard. Errors: `size_mismatch`, `invalid_field`, `rejected_update`.
caf::expected<double> check_update(const aggregation_state& st,
                                   const agg_update& u) {
  if (!st.current.owner)
    return make_fl_error(errc::unexpected_message,
                         "the aggregation actor has no model yet");
  if (u.values.size() != st.layout.numel())
    return make_fl_error(errc::size_mismatch,
                         fmt::format("update from {} has {} values, the "
                                     "model {}",
                                     u.node_id, u.values.size(),
                                     st.layout.numel()));
  if (!(u.weight > 0) || !std::isfinite(u.weight))
    return make_fl_error(errc::invalid_field,
                         fmt::format("update from {} has weight {}",
                                     u.node_id, u.weight));
  const double change = u.kind == tensor_kind::delta
                          ? l2_norm(u.values)
                          : l2_distance(u.values, current_values(st));
  const double bound = change_bound(st.cfg.guard.max_change_ratio,
                                    st.current_norm);
  if (!(change <= bound))
    return make_fl_error(errc::rejected_update,
                         fmt::format("update from {} moves the model by "
                                     "{:.4g} (L2), more than the bound {:.4g}",
                                     u.node_id, change, bound));
  return change;
}

/// Accepts or rejects `candidate` as the next version.
agg_outcome decide(agg_actor self, buffer xs) {
  auto& st = self->state;
  auto candidate = as_version(st.current.version + 1, std::move(xs));
  agg_outcome out;
  out.reason = check_candidate(current_values(st), st.current_norm,
                               candidate.values,
                               st.cfg.guard.max_change_ratio);
  if (out.reason) {
    ++st.rejections;
    st.log.node->warn("model version {} kept, candidate rejected: {}",
                      st.current.version, describe(out.reason));
  } else {
    st.rejections = 0;
    set_current(st, std::move(candidate));
    out.accepted = true;
  }
  out.consecutive_rejections = st.rejections;
  out.model = st.current;
  return out;
}

/// The sum's weighted mean in a fresh buffer; the sum restarts empty.
caf::expected<buffer> take_mean(aggregation_state& st) {
  const double total = st.total_weight.value();
  if (!(total > 0))
    return make_fl_error(errc::invalid_field, "no update was folded");
  auto mean = fresh_buffer(st.layout.numel());
  if (auto err = st.backend->finalize(mean.values()))
    return err;
  // The backend divides by the weights it was given (normalised by the
  // budget); the mean divides by the updates' weights (a delta in a params
  // sum also folds its base) or, for a delta sum, by the number of deltas
  // (FedBuff). Rescale when they differ.
  const double given = st.backend_weight.value() * st.budget;
  if (given != total) {
    const auto f = static_cast<float>(given / total);
    for (auto& x : mean.values())
      x *= f;
  }
  if (auto err = begin_sum(st, st.kind))
    return err;
  return mean;
}

agg_outcome failed(const aggregation_state& st, caf::error why) {
  agg_outcome out;
  out.reason = std::move(why);
  out.consecutive_rejections = st.rejections;
  out.model = st.current;
  return out;
}

aggregation_actor::behavior_type
aggregation_behavior(agg_actor self, model_layout layout,
                     std::shared_ptr<aggregator> backend,
                     aggregation_settings cfg, loggers log) {
  auto& init = self->state;
  init.layout = std::move(layout);
  init.backend = backend ? std::move(backend)
                         : std::shared_ptr<aggregator>{make_cpu_aggregator(0)};
  init.cfg = std::move(cfg);
  init.log = std::move(log);
  if (auto err = begin_sum(init, sum_kind::params))
    init.log.node->error("aggregator: {}", describe(err));
  return {
    [self](agg_reset_atom, model_state& m) {
      auto& st = self->state;
      set_current(st, std::move(m));
      if (auto err = begin_sum(st, sum_kind::params))
        st.log.node->error("aggregator: {}", describe(err));
    },
    [self](agg_begin_atom, sum_kind kind, double budget) {
      auto& st = self->state;
      if (budget > 0 && std::isfinite(budget))
        st.budget = budget;
      else
        st.log.node->error("aggregator: weight budget {} ignored", budget);
      if (auto err = begin_sum(st, kind))
        st.log.node->error("aggregator: {}", describe(err));
    },
    [self](agg_fold_atom, agg_update& u) -> caf::result<fold_receipt> {
      auto& st = self->state;
      auto change = check_update(st, u);
      if (!change)
        return std::move(change.error());
      if (st.kind == sum_kind::delta && u.kind != tensor_kind::delta)
        return make_fl_error(errc::invalid_field,
                             "this sum takes deltas, " + u.node_id
                               + " sent parameters");
      const double s = clip_factor(*change, st.cfg.guard.clip_update_norm);
      const double w = u.weight;
      // The weights of a params sum stay within the budget (an honest
      // round always does: see membership::sample_budget).
      const double so_far = st.kind == sum_kind::params
                              ? st.total_weight.value()
                              : 0.0;
      if (so_far + w > st.budget * (1 + 1e-12))
        return make_fl_error(errc::rejected_update,
                             fmt::format("update from {} weighs {:.6g}; with "
                                         "the {:.6g} folded that exceeds the "
                                         "round's weight budget {:.6g}",
                                         u.node_id, w, so_far, st.budget));
      const auto base = current_values(st);
      // A pair of folds is one update: when the second is refused, the
      // first is taken back, so the sum never holds half an update.
      caf::error err;
      std::vector<std::pair<span<const float>, double>> done;
      auto fold = [&](span<const float> xs, double weight) {
        if (err)
          return;
        const double normalised = weight / st.budget;
        err = st.backend->fold(xs, normalised);
        if (!err)
          done.emplace_back(xs, normalised);
      };
      if (st.kind == sum_kind::delta) {
        fold(u.values, w * s);
      } else if (u.kind == tensor_kind::delta) {
        // base + s * delta, folded without materialising the sum.
        fold(u.values, w * s);
        fold(base, w);
      } else {
        // base + s * (params - base) = s * params + (1 - s) * base.
        fold(u.values, w * s);
        if (s < 1)
          fold(base, w * (1 - s));
      }
      if (err) {
        for (const auto& [xs, weight] : done)
          if (auto undo = st.backend->unfold(xs, weight))
            st.log.node->error("aggregator: {}", describe(undo));
      } else {
        for (const auto& d : done)
          st.backend_weight.add(d.second);
      }
      if (err)
        return err;
      // A delta sum (FedBuff) is divided by the number of deltas, so that
      // the staleness weights w = s(staleness) damp the step.
      st.total_weight.add(st.kind == sum_kind::delta ? 1.0 : w);
      return fold_receipt{u.node_id, *change, s < 1};
    },
    [self](agg_final_atom) -> agg_outcome {
      auto& st = self->state;
      auto mean = take_mean(st);
      if (!mean)
        return failed(st, std::move(mean.error()));
      return decide(self, std::move(*mean));
    },
    [self](agg_mix_atom, agg_update& u, double alpha) -> agg_outcome {
      auto& st = self->state;
      auto change = check_update(st, u);
      if (!change) {
        auto out = failed(st, std::move(change.error()));
        out.update_refused = true;
        return out;
      }
      if (u.kind != tensor_kind::params) {
        auto out = failed(st, make_fl_error(errc::invalid_field,
                                            "FedAsync needs parameters"));
        out.update_refused = true;
        return out;
      }
      // Clipping the change to c scales alpha by the same factor.
      const double s = clip_factor(*change, st.cfg.guard.clip_update_norm);
      const auto cur = current_values(st);
      auto candidate = fresh_buffer(cur.size());
      std::copy(cur.begin(), cur.end(), candidate.data.get());
      if (auto err = st.backend->mix(candidate.values(), u.values,
                                     alpha * s))
        return failed(st, std::move(err));
      return decide(self, std::move(candidate));
    },
    [self](agg_apply_atom, double server_lr) -> agg_outcome {
      auto& st = self->state;
      auto mean = take_mean(st);
      if (!mean)
        return failed(st, std::move(mean.error()));
      auto step = mean->values(); // becomes current + lr * mean in place
      const auto cur = current_values(st);
      const auto lr = static_cast<float>(server_lr);
      for (size_t i = 0; i < step.size(); ++i)
        step[i] = cur[i] + lr * step[i];
      return decide(self, std::move(*mean));
    },
    [self](checkpoint_atom, uint64_t round) -> caf::result<uint64_t> {
      auto& st = self->state;
      if (st.cfg.checkpoint_dir.empty() || !st.current.owner)
        return make_fl_error(errc::invalid_config, "no checkpoint folder");
      if (auto err = save_checkpoint(checkpoint_path(st.cfg.checkpoint_dir),
                                     st.layout, current_values(st),
                                     st.current.version, round))
        return err;
      return st.current.version;
    },
  };
}

} // namespace

aggregation_actor spawn_aggregation_actor(caf::actor_system& sys,
                                          model_layout layout,
                                          std::shared_ptr<aggregator> backend,
                                          aggregation_settings s,
                                          loggers log) {
  if (s.detached)
    return sys.spawn<caf::detached>(aggregation_behavior, std::move(layout),
                                    std::move(backend), s, std::move(log));
  return sys.spawn(aggregation_behavior, std::move(layout), std::move(backend),
                   s, std::move(log));
}

} // namespace fl
