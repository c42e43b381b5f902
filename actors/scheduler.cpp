// The scheduler: a pre-aggregating middle server for one client group.
//
//   gathering --- min_clients joined: Join upstream ---> idle
//   idle --- Activation from upstream ---> collecting
//   collecting --- all answered / deadline, folds acknowledged ---> idle
//                  (one Update upstream, or an Error for the round)
//   any --- Exit from upstream ---> Exit to the group, quit when it is gone

#include "actors/scheduler.hpp"

#include <cmath>

#include <chrono>
#include <limits>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/aggregation_actor.hpp"
#include "actors/interfaces.hpp"
#include "actors/members.hpp"
#include "runtime/aggregation/fedavg.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/federation/membership.hpp"
#include "runtime/federation/round_collector.hpp"

namespace fl {

namespace {

struct scheduler_state {
  scheduler_state() : members(model_layout{}, protocol_version) {}
  scheduler_settings cfg;
  caf::actor upstream;
  aggregation_actor agg;
  loggers log;
  std::unique_ptr<fedavg> sampler;
  membership members;
  round_collector collector;
  uint64_t announced_samples = 0; ///< in the last Join upstream; 0 = none
  bool exiting = false;
  model_state base; ///< the activation's model and version
  static inline const char* name = "fl.scheduler";
};

using scheduler_actor = caf::stateful_actor<scheduler_state>;

void to_upstream(scheduler_actor* self, message body) {
  self->send(self->state.upstream, deliver_atom::value,
             envelope{"", std::move(body)});
}

/// Joins upstream once enough members are there, and joins again whenever
/// the group's sample count grew (the server bounds updates by it).
void announce_upstream(scheduler_actor* self) {
  auto& st = self->state;
  const auto samples = st.members.alive_samples();
  if (st.exiting || st.members.alive() < st.cfg.min_clients
      || samples <= st.announced_samples)
    return;
  if (st.announced_samples == 0)
    st.log.node->info("scheduler {}: {} clients ({} samples) joined; "
                      "joining upstream",
                      st.cfg.id, st.members.alive(), samples);
  st.announced_samples = samples;
  join_msg j{st.cfg.id, node_role::scheduler, {"train"}, "", samples,
             protocol_version};
  j.layout_hash = st.cfg.layout.hash();
  j.numel = st.cfg.layout.numel();
  to_upstream(self, std::move(j));
}

void report_round_failure(scheduler_actor* self, uint64_t round,
                          const std::string& why) {
  auto& st = self->state;
  st.log.node->warn("scheduler {}: round {}: {}", st.cfg.id, round, why);
  to_upstream(self, error_msg{static_cast<uint16_t>(errc::training_failed),
                              st.cfg.id + ": " + why, st.cfg.id, round});
}

void close_round(scheduler_actor* self) {
  auto& st = self->state;
  const auto round = st.collector.round();
  auto [results, failures] = st.collector.take();
  const auto sampled = results.size() + failures.size();
  const auto need = st.sampler->required_results(sampled);
  if (results.size() < need) { // the next activation begins a fresh sum
    report_round_failure(self, round,
                         "got " + std::to_string(results.size()) + "/"
                           + std::to_string(sampled) + " updates, quorum "
                           + std::to_string(need));
    return;
  }
  uint64_t samples = 0;
  double loss_sum = 0, steps_sum = 0;
  for (const auto& r : results) {
    samples += r.num_samples;
    loss_sum += r.metrics.loss * static_cast<double>(r.num_samples);
    steps_sum += static_cast<double>(r.metrics.local_steps)
                 * static_cast<double>(r.num_samples);
  }
  // The group reports its members' sample-weighted mean step count, so
  // that FedNova and SCAFFOLD upstream treat it as one client.
  const auto steps = static_cast<uint64_t>(
    std::llround(steps_sum / static_cast<double>(std::max<uint64_t>(samples, 1))));
  const auto ok = results.size();
  self->request(st.agg, caf::infinite, agg_final_atom::value, 1.0)
    .then([self, round, samples, loss_sum, steps, ok,
           sampled](agg_outcome& o) {
      auto& s = self->state;
      if (!o.accepted) {
        report_round_failure(self, round,
                             "group mean refused: " + describe(o.reason));
        return;
      }
      update_msg up;
      up.node_id = s.cfg.id;
      up.round = round;
      up.base_version = s.base.version;
      up.num_samples = samples;
      up.model.layout = s.cfg.layout;
      up.model.values = o.model.values;
      up.model.owner = std::move(o.model.owner);
      up.metrics.loss = loss_sum / static_cast<double>(samples);
      up.metrics.local_steps = steps;
      to_upstream(self, std::move(up));
      s.log.node->info("scheduler {}: round {} pre-aggregated {}/{} updates "
                       "({} samples)",
                       s.cfg.id, round, ok, sampled, samples);
    });
}

void maybe_close(scheduler_actor* self) {
  if (self->state.collector.complete())
    close_round(self);
}

void on_activation(scheduler_actor* self, activation_msg& act) {
  auto& st = self->state;
  if (st.collector.open()) {
    st.log.node->warn("scheduler {}: round {} superseded by round {}",
                      st.cfg.id, st.collector.round(), act.round);
    st.collector.abandon();
  }
  if (act.model.layout != st.cfg.layout) {
    report_round_failure(self, act.round,
                         "the activation's model has another layout");
    return;
  }
  auto sampled = st.sampler->configure_fit(act.round,
                                           available_clients(st.members));
  if (sampled.empty()) {
    report_round_failure(self, act.round, "no member available");
    return;
  }
  st.base = model_state{act.model_version, act.model.values, act.model.owner};
  st.collector.start(act.round, sampled);
  self->send(st.agg, agg_reset_atom::value, st.base);
  self->send(st.agg, agg_begin_atom::value, sum_kind::params,
             st.members.sample_budget(sampled, st.cfg.guard.max_samples));
  multicast(self, st.members, sampled, act, [](size_t) {});
  self->delayed_send(self, to_timespan(st.cfg.round_deadline_s),
                     deadline_atom::value, act.round);
}

void on_update(scheduler_actor* self, update_msg& up) {
  auto& st = self->state;
  if (st.collector.admit(up.node_id, up.round)
      != update_admission::accepted) {
    st.log.node->info("scheduler {}: dropped update from {} for round {} "
                      "(current round {})",
                      st.cfg.id, up.node_id, up.round, st.collector.round());
    return;
  }
  const auto id = up.node_id;
  const auto limit = st.members.sample_limit(id, st.cfg.guard.max_samples);
  if (up.model.layout != st.cfg.layout || up.num_samples == 0
      || up.num_samples > limit) {
    st.log.node->warn("scheduler {}: update from {} refused (layout or {} "
                      "samples, at most {})",
                      st.cfg.id, id, up.num_samples, limit);
    st.collector.fold_failed(id, make_fl_error(errc::rejected_update, id));
    maybe_close(self);
    return;
  }
  fit_result r{id, up.num_samples, up.metrics, up.extra,
               up.model.payload_bytes()};
  auto u = to_agg_update(up, static_cast<double>(up.num_samples));
  fold_for_round(self, std::move(u), std::move(r),
                 [self](bool) { maybe_close(self); });
}

void quit_if_empty(scheduler_actor* self) {
  if (self->state.members.alive() == 0)
    self->quit();
}

void exit_group(scheduler_actor* self, const std::string& why) {
  auto& st = self->state;
  st.exiting = true;
  st.collector.abandon();
  exit_all(self, st.members, why);
  if (st.members.alive() == 0) {
    self->quit();
    return;
  }
  self->delayed_send(self, to_timespan(st.cfg.exit_grace_s), stop_atom::value);
}

void on_lost(scheduler_actor* self, const std::string& id,
             const caf::error& why) {
  auto& st = self->state;
  if (!st.members.lose(id))
    return;
  if (st.exiting) {
    quit_if_empty(self);
    return;
  }
  st.log.node->warn("scheduler {}: lost {}: {}", st.cfg.id, id, describe(why));
  if (st.collector.fail(id, make_fl_error(errc::peer_lost, describe(why))))
    maybe_close(self);
}

void on_join(scheduler_actor* self, const caf::actor& route,
             const join_msg& j) {
  auto& st = self->state;
  if (!admit(self, st.members, route, j, st.log))
    return;
  deliver_to(self, st.members, j.node_id,
             welcome_msg{j.node_id, st.cfg.id, st.base.version, 0,
                         federation_mode::sync});
  if (st.exiting)
    deliver_to(self, st.members, j.node_id, exit_msg{"federation finished"});
  else
    announce_upstream(self);
}

void on_upstream(scheduler_actor* self, message& body) {
  auto& st = self->state;
  if (auto* act = std::get_if<activation_msg>(&body)) {
    on_activation(self, *act);
  } else if (auto* x = std::get_if<exit_msg>(&body)) {
    st.log.node->info("scheduler {}: exit from upstream ({})", st.cfg.id,
                      x->reason);
    exit_group(self, x->reason);
  } else if (auto* e = std::get_if<error_msg>(&body)) {
    st.log.node->error("scheduler {}: upstream refused: {}", st.cfg.id,
                       e->message);
    exit_group(self, "refused upstream: " + e->message);
  } else if (std::holds_alternative<welcome_msg>(body)) {
    st.log.node->info("scheduler {}: joined upstream", st.cfg.id);
  }
}

caf::behavior scheduler(scheduler_actor* self,
                        std::shared_ptr<scheduler_settings> cfg,
                        caf::actor upstream, loggers log) {
  auto& init = self->state;
  init.cfg = *cfg;
  init.members = membership{init.cfg.layout, protocol_version};
  init.upstream = std::move(upstream);
  init.log = std::move(log);
  init.sampler = std::make_unique<fedavg>(
    init.cfg.clients_per_round > 0 ? init.cfg.clients_per_round
                                   : std::numeric_limits<uint64_t>::max(),
    init.cfg.quorum, init.cfg.seed);
  aggregation_settings as;
  as.guard = init.cfg.guard;
  as.guard.max_rejections = 0; // the top server decides when to stop
  as.detached = init.cfg.detached_aggregation;
  init.agg = spawn_aggregation_actor(self->system(), init.cfg.layout,
                                     init.cfg.folder, as, init.log);
  self->link_to(init.agg);
  self->monitor(init.upstream);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.upstream.address()) {
      st.log.node->error("scheduler {}: upstream gone: {}", st.cfg.id,
                         describe(dm.reason));
      exit_group(self, "upstream gone");
      return;
    }
    for (const auto& id : st.members.routed_by(dm.source))
      on_lost(self, id, dm.reason);
  });
  return {
    [self](deliver_atom, envelope& env) {
      auto& st = self->state;
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      auto& body = env.body;
      if (sender == st.upstream) {
        on_upstream(self, body);
      } else if (auto* j = std::get_if<join_msg>(&body)) {
        if (sender)
          on_join(self, sender, *j);
      } else if (auto* up = std::get_if<update_msg>(&body)) {
        on_update(self, *up);
      } else if (auto* e = std::get_if<error_msg>(&body)) {
        if (st.members.find(e->node_id)
            && st.collector.fail(e->node_id,
                                 make_fl_error(errc::training_failed,
                                               e->message)))
          maybe_close(self);
        else
          st.log.node->warn("scheduler {}: a member reported: {}", st.cfg.id,
                            e->message);
      }
    },
    [self](lost_atom, const std::string& id, const caf::error& why) {
      if (id == "upstream") {
        exit_group(self, "upstream lost: " + describe(why));
        return;
      }
      on_lost(self, id, why);
    },
    [self](deadline_atom, uint64_t round) {
      auto& st = self->state;
      if (auto late = st.collector.deadline(round)) {
        st.log.node->warn("scheduler {}: round {} deadline, {} member(s) "
                          "late",
                          st.cfg.id, round, late);
        maybe_close(self);
      }
    },
    [self](stop_atom) { self->quit(); },
  };
}

} // namespace

caf::actor spawn_scheduler(caf::actor_system& sys, scheduler_settings s,
                           caf::actor upstream, loggers log) {
  auto cfg = std::make_shared<scheduler_settings>(std::move(s));
  return sys.spawn(scheduler, std::move(cfg), std::move(upstream),
                   std::move(log));
}

} // namespace fl
