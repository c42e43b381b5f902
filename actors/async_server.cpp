// The asynchronous server (FedAsync, FedBuff).
//
//   waiting --- min_clients joined ---> serving --- stop condition ---> stopping
//   (requests queue)                    (models out to <= concurrency     (Exit to all,
//                                        clients; updates applied          final evaluation,
//                                        on arrival)                       quit when gone)
//
// No rounds: the model version advances with every applied update (FedAsync)
// or every K buffered deltas (FedBuff). Staleness = version - base version.

#include "actors/async_server.hpp"

#include <chrono>
#include <deque>
#include <optional>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/members.hpp"
#include "runtime/actor_system.hpp"
#include "runtime/async_rules.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/errors.hpp"
#include "runtime/metrics.hpp"

namespace fl {

namespace {

using clock_type = std::chrono::steady_clock;

enum class phase { waiting, serving, stopping };

struct member {
  caf::actor route;
  bool alive = true;
  bool holds_model = false; ///< a model is out and no update came back yet
  uint64_t lease = 0;       ///< identifies the model handed out (deadline)
};

struct async_state {
  async_server_settings cfg;
  flat_model global;
  caf::actor evaluator;
  loggers log;
  metrics_sink metrics;
  std::optional<fedasync_rule> fedasync;
  std::optional<fedbuff_rule> fedbuff;
  phase current = phase::waiting;
  uint64_t version = 0;
  std::map<std::string, member> members;
  std::deque<std::string> queue; ///< requests waiting for a free slot
  uint64_t active = 0;           ///< models out
  uint64_t next_lease = 1;
  uint64_t applied = 0;
  uint64_t dropped = 0;
  std::map<uint64_t, uint64_t> staleness; ///< since the last record
  clock_type::time_point start;
  size_t evals_in_flight = 0;
  /// An immutable copy of the global model at `snapshot_version`, shared by
  /// every client and evaluation that needs that version.
  std::shared_ptr<const std::vector<float>> snapshot;
  uint64_t snapshot_version = 0;
  static inline const char* name = "fl.async_server";
};

using async_actor = caf::stateful_actor<async_state>;

double elapsed(const async_state& st) {
  return std::chrono::duration<double>(clock_type::now() - st.start).count();
}

void deliver(async_actor* self, const std::string& id, message body) {
  auto i = self->state.members.find(id);
  if (i != self->state.members.end() && i->second.alive)
    self->send(i->second.route, deliver_atom::value,
               envelope{id, std::move(body)});
}

void stop(async_actor* self, const std::string& why);

/// The current model as an immutable copy, made once per version: clients
/// keep reading their copy while the global model moves on.
std::shared_ptr<const std::vector<float>> current_snapshot(async_state& st) {
  if (!st.snapshot || st.snapshot_version != st.version) {
    st.snapshot = std::make_shared<const std::vector<float>>(
      st.global.data(), st.global.data() + st.global.size());
    st.snapshot_version = st.version;
  }
  return st.snapshot;
}

void emit(async_actor* self, async_record r) {
  auto& st = self->state;
  std::string hist = "{";
  for (const auto& [s, n] : r.staleness) {
    if (hist.size() > 1)
      hist += ',';
    hist += "\"" + std::to_string(s) + "\":" + std::to_string(n);
  }
  hist += "}";
  json_record j;
  j.add("model_version", r.model_version)
    .add("elapsed_seconds", r.elapsed_seconds)
    .add("updates_applied", r.updates_applied)
    .add("updates_dropped", r.updates_dropped)
    .add("updates_per_second",
         r.elapsed_seconds > 0
           ? static_cast<double>(r.updates_applied) / r.elapsed_seconds
           : 0.0)
    .add_raw("staleness", hist);
  if (r.test_accuracy >= 0)
    j.add("test_loss", r.test_loss).add("test_accuracy", r.test_accuracy);
  st.metrics.write(j);
  st.log.node->info("version {:>5} | acc {:.4f} | loss {:.4f} | {} applied, "
                    "{} dropped | {:.1f} updates/s | {:.1f} s",
                    r.model_version, r.test_accuracy, r.test_loss,
                    r.updates_applied, r.updates_dropped,
                    r.elapsed_seconds > 0 ? static_cast<double>(
                                              r.updates_applied)
                                              / r.elapsed_seconds
                                          : 0.0,
                    r.elapsed_seconds);
  if (st.cfg.log_sink)
    st.cfg.log_sink->add(r);
}

void evaluate(async_actor* self) {
  auto& st = self->state;
  async_record r;
  r.model_version = st.version;
  r.elapsed_seconds = elapsed(st);
  r.updates_applied = st.applied;
  r.updates_dropped = st.dropped;
  r.staleness = std::move(st.staleness);
  st.staleness.clear();
  if (!st.cfg.checkpoint_dir.empty())
    if (auto err = save_checkpoint(checkpoint_path(st.cfg.checkpoint_dir),
                                   st.global, st.version, 0))
      st.log.node->error("checkpoint failed: {}", describe(err));
  if (!st.evaluator) {
    emit(self, std::move(r));
    return;
  }
  auto params = current_snapshot(st);
  ++st.evals_in_flight;
  self->request(st.evaluator, caf::infinite, eval_input{params})
    .then(
      [self, r](eval_output& out) mutable {
        auto& s = self->state;
        --s.evals_in_flight;
        r.test_loss = out.loss;
        r.test_accuracy = out.accuracy;
        emit(self, r);
        if (s.cfg.target_accuracy > 0 && out.accuracy >= s.cfg.target_accuracy
            && s.current != phase::stopping)
          stop(self, "target accuracy reached");
        else if (s.current == phase::stopping && s.evals_in_flight == 0
                 && count_alive(s.members) == 0)
          self->quit();
      },
      [self, r](caf::error& err) mutable {
        auto& s = self->state;
        --s.evals_in_flight;
        s.log.node->error("evaluation failed: {}", describe(err));
        emit(self, r);
        if (s.current == phase::stopping && s.evals_in_flight == 0
            && count_alive(s.members) == 0)
          self->quit();
      });
}

/// Hands models to queued clients while slots are free.
void dispatch(async_actor* self) {
  auto& st = self->state;
  while (st.current == phase::serving && st.active < st.cfg.concurrency
         && !st.queue.empty()) {
    auto id = st.queue.front();
    st.queue.pop_front();
    auto i = st.members.find(id);
    if (i == st.members.end() || !i->second.alive || i->second.holds_model)
      continue;
    i->second.holds_model = true;
    i->second.lease = st.next_lease++;
    ++st.active;
    model_msg m;
    m.model_version = st.version;
    auto snapshot = current_snapshot(st);
    m.model.layout = st.global.layout();
    m.model.values = span<const float>{*snapshot};
    m.model.owner = snapshot;
    deliver(self, id, std::move(m));
    self->delayed_send(self, to_timespan(st.cfg.update_deadline_s),
                       deadline_atom::value, id, i->second.lease);
  }
}

void release_slot(async_actor* self, member& m) {
  if (!m.holds_model)
    return;
  m.holds_model = false;
  --self->state.active;
}

void drop(async_actor* self, const update_msg& up, const caf::error& why) {
  auto& st = self->state;
  ++st.dropped;
  st.log.node->info("dropped update from {} (base version {}, server at {}): "
                    "{}",
                    up.node_id, up.base_version, st.version, describe(why));
}

void on_update(async_actor* self, update_msg& up) {
  auto& st = self->state;
  auto i = st.members.find(up.node_id);
  if (i == st.members.end() || !i->second.holds_model) {
    drop(self, up, make_fl_error(errc::unexpected_message,
                                 "no model was handed out to it"));
    return;
  }
  release_slot(self, i->second);
  if (st.current != phase::serving) {
    drop(self, up, make_fl_error(errc::unexpected_message, "server stopping"));
    return;
  }
  auto staleness = staleness_of(st.version, up.base_version,
                                st.cfg.max_staleness);
  if (!staleness) {
    drop(self, up, staleness.error());
    dispatch(self);
    return;
  }
  if (up.model.layout != st.global.layout()) {
    drop(self, up, make_fl_error(errc::layout_mismatch,
                                 "update does not match the global model"));
    dispatch(self);
    return;
  }
  caf::error err;
  bool new_version = false;
  if (st.fedasync) {
    if (up.model.kind != tensor_kind::params)
      err = make_fl_error(errc::invalid_field, "FedAsync needs parameters");
    else if (st.cfg.folder)
      err = st.cfg.folder->mix(st.global.values(), up.model.values,
                               st.fedasync->weight(*staleness));
    else
      err = st.fedasync->apply(st.global.values(), up.model.values,
                               *staleness);
    new_version = !err;
  } else {
    if (up.model.kind != tensor_kind::delta)
      err = make_fl_error(errc::invalid_field, "FedBuff needs deltas");
    else
      err = st.fedbuff->add(up.model.values, *staleness);
    if (!err && st.fedbuff->ready()) {
      err = st.fedbuff->apply(st.global.values());
      new_version = !err;
    }
  }
  if (err) {
    drop(self, up, err);
    dispatch(self);
    return;
  }
  ++st.applied;
  ++st.staleness[*staleness];
  if (new_version) {
    ++st.version;
    if (st.version % st.cfg.eval_every == 0)
      evaluate(self);
  }
  if (st.cfg.max_updates > 0 && st.applied >= st.cfg.max_updates) {
    stop(self, std::to_string(st.applied) + " updates applied");
    return;
  }
  dispatch(self);
}

void stop(async_actor* self, const std::string& why) {
  auto& st = self->state;
  if (st.current == phase::stopping)
    return;
  st.current = phase::stopping;
  st.log.node->info("stopping: {}; model version {}, {} updates applied, {} "
                    "dropped; sending Exit to {} members",
                    why, st.version, st.applied, st.dropped,
                    count_alive(st.members));
  if (st.version % st.cfg.eval_every != 0 || st.version == 0)
    evaluate(self); // the final model always gets a record
  for (const auto& kv : st.members)
    if (kv.second.alive)
      deliver(self, kv.first, exit_msg{why});
  if (count_alive(st.members) == 0 && st.evals_in_flight == 0) {
    self->quit();
    return;
  }
  self->delayed_send(self, to_timespan(st.cfg.exit_grace_s), stop_atom::value);
}

void on_lost(async_actor* self, const std::string& id, const caf::error& why) {
  auto& st = self->state;
  auto i = st.members.find(id);
  if (i == st.members.end() || !i->second.alive)
    return;
  i->second.alive = false;
  release_slot(self, i->second);
  if (st.current == phase::stopping) {
    if (count_alive(st.members) == 0 && st.evals_in_flight == 0)
      self->quit();
    return;
  }
  st.log.node->warn("lost {}: {}", id, describe(why));
  dispatch(self);
}

caf::behavior async_server(async_actor* self,
                           std::shared_ptr<async_server_settings> cfg,
                           std::shared_ptr<flat_model> initial,
                           caf::actor evaluator, loggers log) {
  auto& init = self->state;
  init.cfg = *cfg;
  init.global = std::move(*initial);
  init.version = init.cfg.start_version;
  init.evaluator = std::move(evaluator);
  init.log = std::move(log);
  if (init.cfg.folder)
    if (auto err = init.cfg.folder->begin(init.global.layout()))
      init.log.node->error("aggregator: {}", describe(err));
  if (init.cfg.mode == "fedbuff")
    init.fedbuff.emplace(init.global.size(), init.cfg.buffer_k,
                         init.cfg.server_lr, init.cfg.staleness);
  else
    init.fedasync.emplace(init.cfg.alpha, init.cfg.staleness);
  if (!init.cfg.metrics_path.empty()) {
    auto sink = metrics_sink::open(init.cfg.metrics_path,
                                   init.cfg.start_version > 0);
    if (!sink) {
      init.log.node->error("{}", describe(sink.error()));
      self->quit(sink.error());
      return {};
    }
    init.metrics = std::move(*sink);
  }
  init.log.node->info("async server {} ready: {} ({} parameters, concurrency "
                      "{}), waiting for {} clients",
                      init.cfg.id, init.cfg.mode == "fedbuff" ? "FedBuff"
                                                              : "FedAsync",
                      init.global.size(), init.cfg.concurrency,
                      init.cfg.min_clients);
  self->set_down_handler([self](caf::down_msg& dm) {
    for (const auto& id : ids_routed_by(self->state.members, dm.source))
      on_lost(self, id, dm.reason);
  });
  return {
    [self](deliver_atom, envelope& env) {
      auto& st = self->state;
      auto& body = env.body;
      if (auto* j = std::get_if<join_msg>(&body)) {
        auto route = caf::actor_cast<caf::actor>(self->current_sender());
        if (!route)
          return;
        auto i = st.members.find(j->node_id);
        if (j->protocol != protocol_version
            || (i != st.members.end() && i->second.alive
                && i->second.route != route)) {
          self->send(route, deliver_atom::value,
                     envelope{j->node_id,
                              error_msg{static_cast<uint16_t>(
                                          errc::unauthorized),
                                        "join refused: id in use or "
                                        "unsupported protocol"}});
          return;
        }
        if (route.node() == self->node())
          self->monitor(route);
        st.members[j->node_id] = member{route, true, false, 0};
        deliver(self, j->node_id,
                welcome_msg{j->node_id, st.cfg.id, st.version,
                            st.cfg.heartbeat_ms, st.cfg.mode});
        if (st.current == phase::stopping) {
          deliver(self, j->node_id, exit_msg{"training finished"});
        } else if (st.current == phase::waiting
                   && count_alive(st.members) >= st.cfg.min_clients) {
          st.current = phase::serving;
          st.start = clock_type::now();
          st.log.node->info("{} clients joined; serving models",
                            count_alive(st.members));
          if (st.cfg.max_seconds > 0)
            self->delayed_send(self, to_timespan(st.cfg.max_seconds),
                               stop_atom::value, true);
          dispatch(self);
        }
      } else if (auto* r = std::get_if<request_msg>(&body)) {
        if (st.current == phase::stopping) {
          deliver(self, r->node_id, exit_msg{"training finished"});
          return;
        }
        st.queue.push_back(r->node_id);
        dispatch(self);
      } else if (auto* up = std::get_if<update_msg>(&body)) {
        on_update(self, *up);
      } else if (auto* e = std::get_if<error_msg>(&body)) {
        st.log.node->warn("a client reported: {}", e->message);
      } else if (!std::holds_alternative<heartbeat_msg>(body)) {
        st.log.wire->warn("unexpected {} ignored", message_name(body));
      }
    },
    [self](lost_atom, const std::string& id, const caf::error& why) {
      on_lost(self, id, why);
    },
    [self](deadline_atom, const std::string& id, uint64_t lease) {
      auto& st = self->state;
      auto i = st.members.find(id);
      if (i == st.members.end() || !i->second.holds_model
          || i->second.lease != lease)
        return;
      st.log.node->warn("{} sent no update within {} s; its slot is freed",
                        id, st.cfg.update_deadline_s);
      release_slot(self, i->second);
      ++st.dropped;
      dispatch(self);
    },
    [self](stop_atom, bool) { stop(self, "time limit reached"); },
    [self](stop_atom) {
      self->state.log.node->warn("{} member(s) did not disconnect in time",
                                 count_alive(self->state.members));
      self->quit();
    },
  };
}

} // namespace

caf::actor spawn_async_server(caf::actor_system& sys, async_server_settings s,
                              flat_model initial, caf::actor evaluator,
                              loggers log) {
  // Spawn arguments must be copyable; flat_model is move-only.
  auto cfg = std::make_shared<async_server_settings>(std::move(s));
  auto model = std::make_shared<flat_model>(std::move(initial));
  return sys.spawn(async_server, std::move(cfg), std::move(model),
                   std::move(evaluator), std::move(log));
}

} // namespace fl
