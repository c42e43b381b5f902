// The scheduler: a middle server for one client group.
//
//   gathering --- min_clients joined: Join upstream ---> idle
//   idle --- Activation from upstream ---> collecting
//   collecting --- all answered / deadline ---> idle (one Update upstream)
//   any --- Exit from upstream ---> Exit to the group, quit when it is gone

#include "actors/scheduler.hpp"

#include <chrono>
#include <limits>
#include <map>
#include <set>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/members.hpp"
#include "runtime/actor_system.hpp"
#include "runtime/errors.hpp"
#include "runtime/fedavg.hpp"

namespace fl {

namespace {

struct group_member {
  caf::actor route;
  uint64_t num_samples = 0;
  bool alive = true;
};

struct scheduler_state {
  scheduler_settings cfg;
  caf::actor upstream;
  loggers log;
  std::unique_ptr<fedavg> sampler;
  std::map<std::string, group_member> members;
  bool joined_upstream = false;
  bool exiting = false;
  std::set<std::string> relay_done; ///< relay: members the server let go
  /// Relay: every member was told to leave (or is gone); nothing is left.
  bool exiting_members() const {
    if (!cfg.relay || members.empty())
      return false;
    for (const auto& kv : members)
      if (kv.second.alive && relay_done.count(kv.first) == 0)
        return false;
    return true;
  }
  // -- the round in progress (round 0 = none) --
  uint64_t round = 0;
  uint64_t base_version = 0;
  model_layout layout;
  std::shared_ptr<const void> model_owner; ///< keeps the activation alive
  span<const float> model;
  std::set<std::string> pending;
  size_t sampled = 0;
  uint64_t samples = 0;
  double loss_sum = 0;
  double total_weight = 0;
  size_t ok = 0;
  static inline const char* name = "fl.scheduler";
};

using scheduler_actor = caf::stateful_actor<scheduler_state>;

void to_upstream(scheduler_actor* self, message body) {
  self->send(self->state.upstream, deliver_atom::value,
             envelope{"", std::move(body)});
}

void to_member(scheduler_actor* self, const std::string& id, message body) {
  auto i = self->state.members.find(id);
  if (i != self->state.members.end() && i->second.alive)
    self->send(i->second.route, deliver_atom::value,
               envelope{id, std::move(body)});
}

void maybe_join_upstream(scheduler_actor* self) {
  auto& st = self->state;
  if (st.cfg.relay || st.joined_upstream
      || count_alive(st.members) < st.cfg.min_clients)
    return;
  st.joined_upstream = true;
  uint64_t samples = 0;
  for (const auto& kv : st.members)
    samples += kv.second.alive ? kv.second.num_samples : 0;
  st.log.node->info("scheduler {}: {} clients ({} samples) joined; joining "
                    "upstream",
                    st.cfg.id, count_alive(st.members), samples);
  to_upstream(self, join_msg{st.cfg.id, node_role::scheduler, {"train"}, "",
                             samples, protocol_version});
}

void close_round(scheduler_actor* self) {
  auto& st = self->state;
  if (st.round == 0)
    return;
  const auto round = st.round;
  const auto need = st.sampler->required_results(st.sampled);
  if (st.ok >= need && st.total_weight > 0) {
    auto mean = std::make_shared<std::vector<float>>(st.layout.numel());
    if (auto err = st.cfg.folder->finalize(span<float>{*mean})) {
      st.log.node->error("scheduler {}: {}", st.cfg.id, describe(err));
    } else {
      update_msg up;
      up.node_id = st.cfg.id;
      up.round = round;
      up.base_version = st.base_version;
      up.num_samples = st.samples;
      up.model.layout = st.layout;
      up.model.values = span<const float>{*mean};
      up.model.owner = mean;
      up.metrics.loss = st.loss_sum / static_cast<double>(st.samples);
      to_upstream(self, std::move(up));
      st.log.node->info("scheduler {}: round {} pre-aggregated {}/{} updates "
                        "({} samples)",
                        st.cfg.id, round, st.ok, st.sampled, st.samples);
    }
  } else {
    st.log.node->warn("scheduler {}: round {} got {}/{} updates, quorum {}; "
                      "nothing sent upstream",
                      st.cfg.id, round, st.ok, st.sampled, need);
  }
  st.round = 0;
  st.pending.clear();
  st.model_owner.reset();
  st.model = {};
}

void on_activation(scheduler_actor* self, activation_msg& act) {
  auto& st = self->state;
  if (st.round != 0)
    close_round(self); // a new round supersedes the old one
  std::vector<client_info> available;
  for (const auto& [id, m] : st.members)
    if (m.alive)
      available.push_back(client_info{id, m.num_samples});
  auto sampled = st.sampler->configure_fit(act.round, available);
  if (sampled.empty()) {
    st.log.node->warn("scheduler {}: no member for round {}", st.cfg.id,
                      act.round);
    return;
  }
  st.round = act.round;
  st.base_version = act.model_version;
  st.layout = act.model.layout;
  st.model = act.model.values;
  st.model_owner = act.model.owner;
  st.pending = std::set<std::string>(sampled.begin(), sampled.end());
  st.sampled = sampled.size();
  st.samples = 0;
  st.loss_sum = 0;
  st.total_weight = 0;
  st.ok = 0;
  if (auto err = st.cfg.folder->begin(st.layout))
    st.log.node->error("scheduler {}: {}", st.cfg.id, describe(err));
  multicast(self, st.members, sampled, act, [](size_t) {});
  self->delayed_send(self, to_timespan(st.cfg.round_deadline_s),
                     deadline_atom::value, act.round);
}

void on_update(scheduler_actor* self, update_msg& up) {
  auto& st = self->state;
  if (up.round != st.round || st.pending.erase(up.node_id) == 0) {
    st.log.node->info("scheduler {}: dropped update from {} for round {} "
                      "(current round {})",
                      st.cfg.id, up.node_id, up.round, st.round);
    return;
  }
  if (up.model.layout != st.layout) {
    st.log.node->warn("scheduler {}: update from {} has another layout",
                      st.cfg.id, up.node_id);
  } else {
    const auto w = static_cast<double>(up.num_samples);
    caf::error err;
    if (up.model.kind == tensor_kind::delta)
      err = st.cfg.folder->fold(st.model, w);
    if (!err)
      err = st.cfg.folder->fold(up.model.values, w);
    if (err) {
      st.log.node->warn("scheduler {}: {}", st.cfg.id, describe(err));
    } else {
      st.total_weight += w;
      st.samples += up.num_samples;
      st.loss_sum += up.metrics.loss * w;
      ++st.ok;
    }
  }
  if (st.pending.empty())
    close_round(self);
}

void on_lost(scheduler_actor* self, const std::string& id,
             const caf::error& why) {
  auto& st = self->state;
  auto i = st.members.find(id);
  if (i == st.members.end() || !i->second.alive)
    return;
  i->second.alive = false;
  if (st.exiting) {
    if (count_alive(st.members) == 0)
      self->quit();
    return;
  }
  st.log.node->warn("scheduler {}: lost {}: {}", st.cfg.id, id, describe(why));
  if (st.pending.erase(id) > 0 && st.pending.empty())
    close_round(self);
}

void exit_group(scheduler_actor* self, const std::string& why) {
  auto& st = self->state;
  st.exiting = true;
  for (const auto& kv : st.members)
    if (kv.second.alive)
      to_member(self, kv.first, exit_msg{why});
  if (count_alive(st.members) == 0) {
    self->quit();
    return;
  }
  self->delayed_send(self, to_timespan(st.cfg.exit_grace_s), stop_atom::value);
}

caf::behavior scheduler(scheduler_actor* self,
                        std::shared_ptr<scheduler_settings> cfg,
                        caf::actor upstream, loggers log) {
  auto& init = self->state;
  init.cfg = *cfg;
  if (!init.cfg.folder)
    init.cfg.folder = std::shared_ptr<aggregator>{make_cpu_aggregator(0)};
  init.upstream = std::move(upstream);
  init.log = std::move(log);
  init.sampler = std::make_unique<fedavg>(
    init.cfg.clients_per_round > 0 ? init.cfg.clients_per_round
                                   : std::numeric_limits<uint64_t>::max(),
    init.cfg.quorum, init.cfg.seed);
  self->monitor(init.upstream);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.upstream.address()) {
      st.log.node->error("scheduler {}: upstream gone: {}", st.cfg.id,
                         describe(dm.reason));
      exit_group(self, "upstream gone");
      return;
    }
    for (const auto& id : ids_routed_by(st.members, dm.source))
      on_lost(self, id, dm.reason);
  });
  return {
    [self](deliver_atom, envelope& env) {
      auto& st = self->state;
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      auto& body = env.body;
      if (sender == st.upstream) {
        if (st.cfg.relay && !env.target.empty() && env.target != st.cfg.id) {
          // A reply for one member (welcome, model, exit, error): pass it on.
          if (std::holds_alternative<exit_msg>(body)
              || std::holds_alternative<error_msg>(body))
            st.relay_done.insert(env.target);
          to_member(self, env.target, std::move(body));
          if (st.exiting_members())
            self->quit();
          return;
        }
        if (auto* act = std::get_if<activation_msg>(&body)) {
          on_activation(self, *act);
        } else if (auto* x = std::get_if<exit_msg>(&body)) {
          st.log.node->info("scheduler {}: exit from upstream ({})",
                            st.cfg.id, x->reason);
          exit_group(self, x->reason);
        } else if (auto* e = std::get_if<error_msg>(&body)) {
          st.log.node->error("scheduler {}: upstream refused: {}", st.cfg.id,
                             e->message);
          exit_group(self, "refused upstream: " + e->message);
        } else if (std::holds_alternative<welcome_msg>(body)) {
          st.log.node->info("scheduler {}: joined upstream", st.cfg.id);
        }
        return;
      }
      if (auto* j = std::get_if<join_msg>(&body)) {
        if (!sender)
          return;
        auto i = st.members.find(j->node_id);
        if (i != st.members.end() && i->second.alive
            && i->second.route != sender) {
          self->send(sender, deliver_atom::value,
                     envelope{j->node_id,
                              error_msg{static_cast<uint16_t>(
                                          errc::unauthorized),
                                        "node id in use"}});
          return;
        }
        if (sender.node() == self->node())
          self->monitor(sender);
        st.members[j->node_id] = group_member{sender, j->num_samples, true};
        if (st.cfg.relay) {
          to_upstream(self, std::move(*j)); // the server welcomes it
          return;
        }
        to_member(self, j->node_id,
                  welcome_msg{j->node_id, st.cfg.id, st.base_version, 0,
                              "sync"});
        if (st.exiting)
          to_member(self, j->node_id, exit_msg{"federation finished"});
        else
          maybe_join_upstream(self);
      } else if (st.cfg.relay) {
        // Requests, updates, errors of members: the server decides.
        to_upstream(self, std::move(body));
      } else if (auto* up = std::get_if<update_msg>(&body)) {
        on_update(self, *up);
      } else if (auto* e = std::get_if<error_msg>(&body)) {
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
      if (round != st.round)
        return;
      st.log.node->warn("scheduler {}: round {} deadline, {} member(s) late",
                        st.cfg.id, round, st.pending.size());
      st.pending.clear();
      close_round(self);
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
