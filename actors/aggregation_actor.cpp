// The aggregation actor: the only place a serving node folds, mixes or
// guards a model (protocol in actors/interfaces.hpp).
//
// A candidate global model is always a fresh buffer: finalize writes the
// mean into it, mix and apply start from the current model. When the guard
// accepts it, the buffer becomes the new immutable version that activations,
// evaluation and checkpoints share, so accepting a model copies nothing.

#include "actors/aggregation_actor.hpp"

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>

#include "runtime/aggregation/aggregate.hpp"
#include "runtime/aggregation/control_variates.hpp"
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
  /// The plan's server optimizer (null: the combined model is the next).
  std::unique_ptr<server_optimizer> optimizer;
  /// SCAFFOLD's control variates (plan.control_variates).
  std::unique_ptr<control_variates> variates;
  /// A robust rule's updates of the current sum, as the vectors it
  /// combines (params for a params sum, deltas for a delta sum), with
  /// their weights. At most cfg.resident_limit.
  std::vector<std::pair<model_state, double>> resident;
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

bool robust(const aggregation_state& st) {
  return st.cfg.plan.robust.rule != combine_rule::weighted_mean;
}

/// Empties the sum's weights (the backend's accumulator is restarted by
/// its own begin()).
void clear_weights(aggregation_state& st) {
  st.total_weight.clear();
  st.backend_weight.clear();
}

caf::error begin_sum(aggregation_state& st, sum_kind kind) {
  st.kind = kind;
  clear_weights(st);
  st.resident.clear();
  if (st.variates)
    st.variates->discard();
  return st.backend->begin(st.layout);
}

/// The clip applied to every update's change: the guard's and the plan's
/// norm bound, whichever is tighter (0 = none).
double update_clip(const aggregation_state& st) {
  const double a = st.cfg.guard.clip_update_norm;
  const double b = st.cfg.plan.norm_bound;
  if (a > 0 && b > 0)
    return std::min(a, b);
  return a > 0 ? a : b;
}

/// Visits the update's change to `base` (client - base) in blocks that
/// cover the model, without building it whole.
void visit_delta(const agg_update& u, span<const float> base,
                 const std::function<void(uint64_t, span<const float>)>& f) {
  constexpr size_t block = size_t{1} << 16;
  if (u.packed) {
    for_each_block(*u.packed, block, f);
  } else if (u.kind == tensor_kind::delta) {
    f(0, u.values);
  } else {
    std::vector<float> scratch(std::min(block, u.values.size()));
    for (size_t first = 0; first < u.values.size(); first += block) {
      const size_t n = std::min(block, u.values.size() - first);
      for (size_t i = 0; i < n; ++i)
        scratch[i] = u.values[first + i] - base[first + i];
      f(first, span<const float>{scratch.data(), n});
    }
  }
}

/// The named vectors of the optimizer and the control variates.
strategy_state collect_state(const aggregation_state& st) {
  strategy_state out;
  out.model_version = st.current.version;
  if (st.optimizer)
    for (auto& [name, v] : st.optimizer->state())
      out.vectors.emplace_back(name, *v);
  if (st.variates) {
    out.vectors.emplace_back("scaffold.c", st.variates->global());
    for (const auto& [id, v] : st.variates->clients())
      out.vectors.emplace_back("scaffold.ci/" + id, v);
  }
  return out;
}

/// Restores what collect_state saved. Errors: `size_mismatch`,
/// `invalid_config` for a vector the plan has no place for.
caf::error restore_state(aggregation_state& st, strategy_state saved) {
  std::vector<float> c;
  std::map<std::string, std::vector<float>> ci;
  bool has_c = false;
  for (auto& [name, v] : saved.vectors) {
    if (name == "scaffold.c" && st.variates) {
      c = std::move(v);
      has_c = true;
      continue;
    }
    if (name.rfind("scaffold.ci/", 0) == 0 && st.variates) {
      ci.emplace(name.substr(12), std::move(v));
      continue;
    }
    bool placed = false;
    if (st.optimizer)
      for (auto& [slot, dest] : st.optimizer->state())
        if (slot == name) {
          if (v.size() != st.layout.numel())
            return make_fl_error(errc::size_mismatch,
                                 "saved " + name + " does not match the model");
          *dest = std::move(v);
          placed = true;
        }
    if (!placed)
      return make_fl_error(errc::invalid_config,
                           "the saved strategy state holds " + name
                             + ", which this strategy does not keep");
  }
  if (has_c)
    return st.variates->restore(std::move(c), std::move(ci));
  return caf::none;
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
  const uint64_t count = u.packed ? u.packed->numel : u.values.size();
  if (count != st.layout.numel())
    return make_fl_error(errc::size_mismatch,
                         fmt::format("update from {} has {} values, the "
                                     "model {}",
                                     u.node_id, count, st.layout.numel()));
  if (u.packed && u.kind != tensor_kind::delta)
    return make_fl_error(errc::invalid_field,
                         "a compressed update from " + u.node_id
                           + " must be a delta");
  if (!(u.weight > 0) || !std::isfinite(u.weight))
    return make_fl_error(errc::invalid_field,
                         fmt::format("update from {} has weight {}",
                                     u.node_id, u.weight));
  const double change = u.packed ? summarize(*u.packed).l2
                        : u.kind == tensor_kind::delta
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
  if (st.variates) {
    if (out.reason)
      st.variates->discard();
    else
      st.variates->commit();
  }
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

/// The plan's robust rule over the resident updates, in a fresh buffer.
caf::expected<buffer> take_combined(aggregation_state& st) {
  std::vector<span<const float>> xs;
  std::vector<double> ws;
  for (const auto& [m, w] : st.resident) {
    xs.push_back(m.values);
    ws.push_back(w);
  }
  auto out = fresh_buffer(st.layout.numel());
  auto err = robust_combine(st.cfg.plan.robust, xs, ws, out.values());
  st.resident.clear();
  if (err)
    return err;
  return out;
}

/// The sum's weighted mean (or the robust rule's result) in a fresh
/// buffer; the sum restarts empty (keeping staged control variates for
/// the decision on the candidate).
caf::expected<buffer> take_mean(aggregation_state& st) {
  const double total = st.total_weight.value();
  if (!(total > 0))
    return make_fl_error(errc::invalid_field, "no update was folded");
  if (robust(st)) {
    auto combined = take_combined(st);
    clear_weights(st);
    return combined;
  }
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
  clear_weights(st);
  if (auto err = st.backend->begin(st.layout))
    return err;
  return mean;
}

/// The server's step from the current model to `next` (which holds the
/// combined model): next = x + scale (next - x), then the optimizer.
void server_step(aggregation_state& st, span<float> next, double scale) {
  const auto cur = current_values(st);
  if (scale != 1.0) {
    const auto f = static_cast<float>(scale);
    for (size_t i = 0; i < next.size(); ++i)
      next[i] = cur[i] + f * (next[i] - cur[i]);
  }
  if (st.optimizer)
    st.optimizer->step(cur, next);
}

/// One update of a sum as the vector a robust rule combines: params (a
/// params sum) or the delta (a delta sum), with the clip factor `s`
/// applied. Zero copy when it already is that vector.
model_state resident_vector(const aggregation_state& st, const agg_update& u,
                            double s) {
  const auto base = current_values(st);
  const bool want_params = st.kind == sum_kind::params;
  if (!u.packed && s == 1.0
      && (want_params ? u.kind == tensor_kind::params
                      : u.kind == tensor_kind::delta))
    return model_state{0, u.values, u.owner};
  auto out = fresh_buffer(st.layout.numel());
  auto xs = out.values();
  const auto f = static_cast<float>(s);
  visit_delta(u, base, [&](uint64_t first, span<const float> d) {
    for (size_t i = 0; i < d.size(); ++i)
      xs[first + i] = (want_params ? base[first + i] : 0.0f) + f * d[i];
  });
  return as_version(0, std::move(out));
}

/// One contribution of an update to the streaming sum: a dense span or a
/// compressed delta, with its normalised weight.
struct contribution {
  span<const float> dense;
  const encoded_tensor* packed = nullptr;
  double weight = 0;
};

caf::error fold_packed(aggregator& b, const encoded_tensor& t, double w,
                       bool subtract, size_t limit, size_t* folded) {
  constexpr size_t block = size_t{1} << 16;
  caf::error err;
  size_t n = 0;
  if (t.encoding == tensor_encoding::topk) {
    for_each_sparse(t, [&](uint64_t offset, span<const uint32_t> idx,
                           span<const float> vals) {
      if (err || n >= limit)
        return;
      err = b.fold_entries(offset, idx, vals, w, subtract);
      if (!err)
        ++n;
    });
  } else {
    for_each_block(t, block, [&](uint64_t first, span<const float> xs) {
      if (err || n >= limit)
        return;
      err = b.fold_part(first, xs, w, subtract);
      if (!err)
        ++n;
    });
  }
  if (folded)
    *folded = n;
  return err;
}

caf::error fold_one(aggregator& b, const contribution& c) {
  if (!c.packed)
    return b.fold(c.dense, c.weight);
  size_t done = 0;
  auto err = fold_packed(b, *c.packed, c.weight, false, SIZE_MAX, &done);
  if (!err)
    err = b.add_weight(c.weight);
  if (err) // exact undo of the parts folded
    fold_packed(b, *c.packed, c.weight, true, done, nullptr);
  return err;
}

caf::error unfold_one(aggregator& b, const contribution& c) {
  if (!c.packed)
    return b.unfold(c.dense, c.weight);
  auto err = fold_packed(b, *c.packed, c.weight, true, SIZE_MAX, nullptr);
  if (auto e2 = b.add_weight(-c.weight); !err)
    err = std::move(e2);
  return err;
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
  if (init.cfg.plan.optimizer)
    init.optimizer = init.cfg.plan.optimizer();
  if (init.cfg.plan.control_variates)
    init.variates = std::make_unique<control_variates>(
      init.layout.numel(), init.cfg.plan.total_clients);
  if (!init.cfg.initial_state.vectors.empty()) {
    if (auto err = restore_state(init, std::move(init.cfg.initial_state)))
      init.log.node->error("aggregator: strategy state not restored: {}",
                           describe(err));
    init.cfg.initial_state = strategy_state{};
  }
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
      const double s = clip_factor(*change, update_clip(st));
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
      if (st.variates && u.local_steps == 0)
        return make_fl_error(errc::invalid_field,
                             "SCAFFOLD needs the local step count of "
                               + u.node_id);
      const auto base = current_values(st);
      if (robust(st)) {
        const auto limit = st.cfg.resident_limit;
        if (limit > 0 && st.resident.size() >= limit)
          return make_fl_error(errc::rejected_update,
                               fmt::format("update from {}: this sum already "
                                           "holds {} updates, the most its "
                                           "robust rule keeps",
                                           u.node_id, limit));
        st.resident.emplace_back(resident_vector(st, u, s), w);
      } else {
        const auto norm = [&](double weight) { return weight / st.budget; };
        std::vector<contribution> parts;
        if (st.kind == sum_kind::delta || u.kind == tensor_kind::delta) {
          parts.push_back({u.values, u.packed.get(), norm(w * s)});
          if (st.kind == sum_kind::params) // base + s * delta
            parts.push_back({base, nullptr, norm(w)});
        } else {
          // base + s * (params - base) = s * params + (1 - s) * base.
          parts.push_back({u.values, nullptr, norm(w * s)});
          if (s < 1)
            parts.push_back({base, nullptr, norm(w * (1 - s))});
        }
        // The parts are one update: when one is refused, those folded are
        // taken back, so the sum never holds half an update.
        caf::error err;
        size_t done = 0;
        for (; done < parts.size() && !err; ++done)
          if ((err = fold_one(*st.backend, parts[done])))
            break;
        if (err) {
          for (size_t i = 0; i < done; ++i)
            if (auto undo = unfold_one(*st.backend, parts[i]))
              st.log.node->error("aggregator: {}", describe(undo));
          return err;
        }
        for (const auto& part : parts)
          st.backend_weight.add(part.weight);
      }
      if (st.variates) {
        auto err = st.variates->absorb(
          u.node_id, u.local_steps, st.cfg.plan.client_lr,
          [&](const std::function<void(uint64_t, span<const float>)>& f) {
            visit_delta(u, base, f);
          });
        if (err)
          st.log.node->warn("aggregator: {}", describe(err));
      }
      // A delta sum (FedBuff) is divided by the number of deltas, so that
      // the staleness weights w = s(staleness) damp the step.
      st.total_weight.add(st.kind == sum_kind::delta ? 1.0 : w);
      return fold_receipt{u.node_id, *change, s < 1};
    },
    [self](agg_final_atom, double scale) -> agg_outcome {
      auto& st = self->state;
      auto mean = take_mean(st);
      if (!mean) {
        if (st.variates)
          st.variates->discard();
        return failed(st, std::move(mean.error()));
      }
      if (!(scale > 0) || !std::isfinite(scale))
        scale = 1;
      server_step(st, mean->values(), scale);
      return decide(self, std::move(*mean));
    },
    [self](agg_control_atom, const std::string& id) -> model_state {
      auto& st = self->state;
      auto out = fresh_buffer(st.layout.numel());
      if (st.variates) {
        st.variates->correction(id, out.values());
      } else {
        std::fill(out.data.get(), out.data.get() + out.size, 0.0f);
      }
      return as_version(st.current.version, std::move(out));
    },
    [self](agg_mix_atom, agg_update& u, double alpha) -> agg_outcome {
      auto& st = self->state;
      auto change = check_update(st, u);
      if (!change) {
        auto out = failed(st, std::move(change.error()));
        out.update_refused = true;
        return out;
      }
      // Clipping the change to c scales alpha by the same factor.
      const double s = clip_factor(*change, update_clip(st));
      const auto cur = current_values(st);
      auto candidate = fresh_buffer(cur.size());
      std::copy(cur.begin(), cur.end(), candidate.data.get());
      if (u.kind == tensor_kind::delta) {
        // (1 - a) x + a (x + d) = x + a d, block by block.
        auto xs = candidate.values();
        const auto a = static_cast<float>(alpha * s);
        visit_delta(u, cur, [&](uint64_t first, span<const float> d) {
          for (size_t i = 0; i < d.size(); ++i)
            xs[first + i] += a * d[i];
        });
      } else if (auto err = st.backend->mix(candidate.values(), u.values,
                                            alpha * s)) {
        return failed(st, std::move(err));
      }
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
      if (st.optimizer)
        st.optimizer->step(cur, step);
      return decide(self, std::move(*mean));
    },
    [self](checkpoint_atom, uint64_t round) -> caf::result<uint64_t> {
      auto& st = self->state;
      if (st.cfg.checkpoint_dir.empty() || !st.current.owner)
        return make_fl_error(errc::invalid_config, "no checkpoint folder");
      // The strategy's state first: a crash between the two files leaves a
      // state newer than the model, which resume refuses (never a model
      // with a stale state).
      if (st.optimizer || st.variates)
        if (auto err = save_strategy_state(
              strategy_state_path(st.cfg.checkpoint_dir), collect_state(st)))
          return err;
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
