// The synchronous federated server.
//
//              joins >= min_clients
//   waiting ------------------------> collecting <-----------------+
//      ^                                  |                         |
//      | no client available              | all sampled answered,   |
//      +----------------------------------+ failed, or deadline     |
//                                         v                         |
//                                    aggregating --- rounds left ---+
//                                         |
//                                         | last round (and its evaluation)
//                                         v
//                                     finishing --- members gone / grace ---> quit
//
// Updates are folded into a running weighted sum the moment they arrive, so
// memory is O(model) whatever the number of clients per round. Evaluation
// runs on a separate worker; the next round starts without waiting for it.

#include "actors/server.hpp"

#include <chrono>
#include <map>
#include <set>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "runtime/actor_system.hpp"
#include "actors/members.hpp"
#include "runtime/aggregate.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/errors.hpp"
#include "runtime/metrics.hpp"

namespace fl {

namespace {

using clock_type = std::chrono::steady_clock;

enum class phase { waiting, collecting, finishing };

struct member {
  caf::actor route;
  uint64_t num_samples = 0;
  bool alive = true;
};

struct server_state {
  server_settings cfg;
  std::shared_ptr<strategy> strat;
  flat_model global;
  caf::actor evaluator;
  loggers log;
  metrics_sink metrics;
  phase current = phase::waiting;
  uint64_t version = 0;
  uint64_t round = 0;
  std::map<std::string, member> members;
  // -- the round in progress --
  /// Immutable copy of the global model: sent out in activations and
  /// evaluated; made once per aggregation (clients may still read it after
  /// the global model has moved on).
  std::shared_ptr<const std::vector<float>> snapshot;
  std::set<std::string> pending;
  std::vector<fit_result> results;
  std::vector<fit_failure> failures;
  std::shared_ptr<aggregator> folder;
  double total_weight = 0;
  round_record record;
  clock_type::time_point round_start;
  clock_type::time_point run_start;
  bool run_started = false;
  // -- evaluation and shutdown --
  std::map<uint64_t, round_record> awaiting_eval;
  static inline const char* name = "fl.server";
};

using server_actor = caf::stateful_actor<server_state>;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

void deliver(server_actor* self, const std::string& id, message body) {
  auto i = self->state.members.find(id);
  if (i == self->state.members.end() || !i->second.alive)
    return;
  self->send(i->second.route, deliver_atom::value,
             envelope{id, std::move(body)});
}

void start_round(server_actor* self);
void close_round(server_actor* self);
void finish(server_actor* self);

void emit(server_actor* self, const round_record& r) {
  auto& st = self->state;
  json_record j;
  j.add("round", r.round)
    .add("model_version", r.model_version)
    .add("accepted", r.accepted)
    .add("outcome", r.outcome)
    .add("round_seconds", r.round_seconds)
    .add("elapsed_seconds", r.elapsed_seconds)
    .add("sampled", static_cast<uint64_t>(r.sampled))
    .add("clients_ok", static_cast<uint64_t>(r.clients_ok))
    .add("clients_failed", static_cast<uint64_t>(r.clients_failed))
    .add("train_loss", r.train_loss)
    .add("train_seconds", r.train_seconds)
    .add("bytes_out", r.bytes_out)
    .add("bytes_in", r.bytes_in);
  if (r.test_accuracy >= 0)
    j.add("test_loss", r.test_loss).add("test_accuracy", r.test_accuracy);
  st.metrics.write(j);
  if (st.cfg.log_sink)
    st.cfg.log_sink->add(r);
  const auto total = st.cfg.rounds;
  const double per_round = r.elapsed_seconds / static_cast<double>(
                             std::max<uint64_t>(1, r.round - st.cfg.start_round));
  const double eta = per_round * static_cast<double>(total - r.round);
  if (r.test_accuracy >= 0)
    st.log.node->info("round {:>3}/{} | acc {:.4f} | loss {:.4f} | {}/{} ok"
                      " | {:.3f} s | ETA {:.1f} s",
                      r.round, total, r.test_accuracy, r.test_loss,
                      r.clients_ok, r.sampled, r.round_seconds, eta);
  else
    st.log.node->info("round {:>3}/{} | train loss {:.4f} | {}/{} ok | {:.3f} s"
                      " | ETA {:.1f} s",
                      r.round, total, r.train_loss, r.clients_ok, r.sampled,
                      r.round_seconds, eta);
  if (!r.accepted)
    st.log.node->warn("round {} kept the previous model: {}", r.round,
                      r.outcome);
}

void fail_pending(server_actor* self, const std::string& id, caf::error why) {
  auto& st = self->state;
  if (st.current != phase::collecting || st.pending.erase(id) == 0)
    return;
  st.log.node->warn("round {}: client {} failed: {}", st.round, id,
                    describe(why));
  st.failures.push_back(fit_failure{id, std::move(why)});
  if (st.pending.empty())
    close_round(self);
}

void on_join(server_actor* self, const caf::actor& route, join_msg& j) {
  auto& st = self->state;
  if (j.protocol != protocol_version) {
    self->send(route, deliver_atom::value,
               envelope{j.node_id,
                        error_msg{static_cast<uint16_t>(errc::invalid_field),
                                  "protocol version "
                                    + std::to_string(j.protocol)
                                    + " is not supported (server speaks "
                                    + std::to_string(protocol_version) + ")"}});
    return;
  }
  auto i = st.members.find(j.node_id);
  if (i != st.members.end() && i->second.alive && i->second.route != route) {
    st.log.wire->warn("join from {} refused: the id is taken", j.node_id);
    self->send(route, deliver_atom::value,
               envelope{j.node_id,
                        error_msg{static_cast<uint16_t>(errc::unauthorized),
                                  "node id '" + j.node_id
                                    + "' is already in use"}});
    return;
  }
  if (route.node() == self->node())
    self->monitor(route);
  st.members[j.node_id] = member{route, j.num_samples, true};
  st.log.node->debug("{} joined ({} samples), {} members", j.node_id,
                     j.num_samples, count_alive(st.members));
  deliver(self, j.node_id,
          welcome_msg{j.node_id, st.cfg.id, st.version, st.cfg.heartbeat_ms,
                      "sync"});
  if (st.current == phase::waiting
      && count_alive(st.members) >= st.cfg.min_clients) {
    st.log.node->info("{} clients joined; starting round {}",
                      count_alive(st.members), st.round + 1);
    start_round(self);
  } else if (st.current == phase::finishing) {
    deliver(self, j.node_id, exit_msg{"training finished"});
  }
}

void on_update(server_actor* self, update_msg& up) {
  auto& st = self->state;
  if (st.current != phase::collecting || up.round != st.round) {
    st.log.node->info("dropped update from {} for round {}: the server is in"
                      " round {} ({})",
                      up.node_id, up.round, st.round,
                      up.round < st.round ? "late" : "not started");
    return;
  }
  if (st.pending.count(up.node_id) == 0) {
    st.log.node->warn("dropped update from {}: not sampled or already "
                      "answered in round {}",
                      up.node_id, st.round);
    return;
  }
  if (up.model.layout != st.global.layout()
      || up.model.values.size() != st.global.size()) {
    fail_pending(self, up.node_id,
                 make_fl_error(errc::layout_mismatch,
                               "update does not match the global model"));
    return;
  }
  fit_result r{up.node_id, up.num_samples, up.metrics};
  const double w = st.strat->fit_weight(r);
  if (!(w > 0)) {
    fail_pending(self, up.node_id,
                 make_fl_error(errc::invalid_field, "update has no weight"));
    return;
  }
  caf::error err;
  if (up.model.kind == tensor_kind::delta) {
    // base + delta, folded without materialising the sum.
    err = st.folder->fold(span<const float>{*st.snapshot}, w);
  }
  if (!err)
    err = st.folder->fold(up.model.values, w);
  if (err) {
    fail_pending(self, up.node_id, std::move(err));
    return;
  }
  st.total_weight += w;
  st.record.bytes_in += up.model.values.size_bytes();
  st.pending.erase(up.node_id);
  st.results.push_back(std::move(r));
  if (st.pending.empty())
    close_round(self);
}

void start_round(server_actor* self) {
  auto& st = self->state;
  std::vector<client_info> available;
  for (const auto& [id, m] : st.members)
    if (m.alive)
      available.push_back(client_info{id, m.num_samples});
  const uint64_t next = st.round + 1;
  if (next > st.cfg.rounds) { // resumed after the last round
    st.current = phase::finishing;
    finish(self);
    return;
  }
  auto sampled = st.strat->configure_fit(next, available);
  if (sampled.empty()) {
    st.log.node->warn("no client available for round {}; waiting for joins",
                      next);
    st.current = phase::waiting;
    return;
  }
  if (!st.run_started) {
    st.run_started = true;
    st.run_start = clock_type::now();
  }
  st.round = next;
  st.current = phase::collecting;
  st.round_start = clock_type::now();
  st.pending = std::set<std::string>(sampled.begin(), sampled.end());
  st.results.clear();
  st.failures.clear();
  if (auto err = st.folder->begin(st.global.layout()))
    st.log.node->error("aggregator: {}", describe(err));
  st.total_weight = 0;
  st.record = round_record{};
  st.record.round = st.round;
  st.record.sampled = sampled.size();
  if (!st.snapshot) // the first round; later ones reuse close_round's copy
    st.snapshot = std::make_shared<const std::vector<float>>(
      st.global.data(), st.global.data() + st.global.size());
  activation_msg act;
  act.round = st.round;
  act.model_version = st.version;
  act.model.kind = tensor_kind::params;
  act.model.layout = st.global.layout();
  act.model.values = span<const float>{*st.snapshot};
  act.model.owner = st.snapshot;
  const auto model_bytes = act.model.values.size_bytes();
  multicast(self, st.members, sampled, act, [&](size_t n) {
    st.record.bytes_out += model_bytes * n;
  });
  self->delayed_send(self, to_timespan(st.cfg.round_deadline_s),
                     deadline_atom::value, st.round);
}

void close_round(server_actor* self) {
  auto& st = self->state;
  auto& r = st.record;
  r.round_seconds = seconds_since(st.round_start);
  r.elapsed_seconds = seconds_since(st.run_start);
  r.clients_ok = st.results.size();
  r.clients_failed = st.failures.size();
  double loss_sum = 0, n = 0, seconds = 0;
  for (const auto& x : st.results) {
    loss_sum += x.metrics.loss * static_cast<double>(x.num_samples);
    n += static_cast<double>(x.num_samples);
    seconds += x.metrics.train_seconds;
  }
  r.train_loss = n > 0 ? loss_sum / n : 0;
  r.train_seconds = st.results.empty()
                      ? 0
                      : seconds / static_cast<double>(st.results.size());
  auto decision = st.strat->aggregate_fit(st.round, st.results, st.failures,
                                          r.sampled);
  if (!decision)
    decision = st.folder->finalize(st.global.values());
  if (!decision) {
    ++st.version;
    r.accepted = true;
    r.outcome = "ok";
  } else {
    r.accepted = false;
    r.outcome = describe(decision);
  }
  r.model_version = st.version;
  // The new model, for the evaluation and the next round's activations.
  st.snapshot = std::make_shared<const std::vector<float>>(
    st.global.data(), st.global.data() + st.global.size());
  st.pending.clear();
  if (!st.cfg.checkpoint_dir.empty() && r.accepted) {
    if (auto err = save_checkpoint(checkpoint_path(st.cfg.checkpoint_dir),
                                   st.global, st.version, st.round))
      st.log.node->error("checkpoint failed: {}", describe(err));
  }
  if (st.evaluator) {
    const auto round = st.round;
    st.awaiting_eval.emplace(round, r);
    self->request(st.evaluator, caf::infinite, eval_input{st.snapshot})
      .then(
        [self, round](eval_output& out) {
          auto& s = self->state;
          auto i = s.awaiting_eval.find(round);
          if (i == s.awaiting_eval.end())
            return;
          i->second.test_loss = out.loss;
          i->second.test_accuracy = out.accuracy;
          emit(self, i->second);
          s.awaiting_eval.erase(i);
          if (s.cfg.target_accuracy > 0 && out.accuracy >= s.cfg.target_accuracy
              && s.current != phase::finishing) {
            s.log.node->info("target accuracy {:.4f} reached at round {}",
                             s.cfg.target_accuracy, round);
            // The round in progress (if any) is abandoned.
            s.pending.clear();
            s.current = phase::finishing;
          }
          if (s.current == phase::finishing && s.awaiting_eval.empty())
            finish(self);
        },
        [self, round](caf::error& err) {
          auto& s = self->state;
          s.log.node->error("evaluation of round {} failed: {}", round,
                            describe(err));
          auto i = s.awaiting_eval.find(round);
          if (i != s.awaiting_eval.end()) {
            emit(self, i->second);
            s.awaiting_eval.erase(i);
          }
          if (s.current == phase::finishing && s.awaiting_eval.empty())
            finish(self);
        });
  } else {
    emit(self, r);
  }
  if (st.round < st.cfg.rounds) {
    start_round(self);
    return;
  }
  st.current = phase::finishing;
  if (st.awaiting_eval.empty())
    finish(self);
}

void finish(server_actor* self) {
  auto& st = self->state;
  st.log.node->info("training finished after {} rounds (model version {}); "
                    "sending Exit to {} members",
                    st.round, st.version, count_alive(st.members));
  for (const auto& kv : st.members)
    if (kv.second.alive)
      deliver(self, kv.first, exit_msg{"training finished"});
  if (count_alive(st.members) == 0) {
    self->quit();
    return;
  }
  self->delayed_send(self, to_timespan(st.cfg.exit_grace_s),
                     stop_atom::value);
}

void on_lost(server_actor* self, const std::string& id, caf::error why) {
  auto& st = self->state;
  auto i = st.members.find(id);
  if (i == st.members.end() || !i->second.alive)
    return;
  i->second.alive = false;
  if (st.current == phase::finishing) {
    st.log.node->debug("{} left", id);
    if (count_alive(st.members) == 0 && st.awaiting_eval.empty())
      self->quit();
    return;
  }
  st.log.node->warn("lost {}: {}", id, describe(why));
  fail_pending(self, id, make_fl_error(errc::peer_lost, describe(why)));
}

caf::behavior server_behavior(server_actor* self, server_settings cfg,
                              std::shared_ptr<strategy> strat,
                              std::shared_ptr<flat_model> initial,
                              caf::actor evaluator, loggers log) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  init.strat = std::move(strat);
  init.global = std::move(*initial);
  init.evaluator = std::move(evaluator);
  init.log = std::move(log);
  init.folder = init.cfg.folder ? init.cfg.folder
                                : std::shared_ptr<aggregator>{
                                  make_cpu_aggregator(0)};
  init.round = init.cfg.start_round;
  init.version = init.cfg.start_version;
  if (!init.cfg.metrics_path.empty()) {
    auto sink = metrics_sink::open(init.cfg.metrics_path,
                                   init.cfg.start_round > 0);
    if (!sink) {
      init.log.node->error("{}", describe(sink.error()));
      self->quit(sink.error());
      return {};
    }
    init.metrics = std::move(*sink);
  }
  if (init.cfg.start_round > 0)
    init.log.node->info("resuming after round {} at model version {}",
                        init.cfg.start_round, init.cfg.start_version);
  init.log.node->info("server {} ready: {} ({} parameters), waiting for {} "
                    "clients",
                    init.cfg.id, init.strat->name(), init.global.size(),
                    init.cfg.min_clients);
  self->set_down_handler([self](caf::down_msg& dm) {
    for (const auto& id : ids_routed_by(self->state.members, dm.source))
      on_lost(self, id, dm.reason ? dm.reason : make_fl_error(errc::peer_lost,
                                                              "actor ended"));
  });
  return {
    [self](deliver_atom, envelope& env) {
      auto route = caf::actor_cast<caf::actor>(self->current_sender());
      auto& body = env.body;
      if (auto* j = std::get_if<join_msg>(&body)) {
        if (!route) {
          self->state.log.wire->warn("join without a sender ignored");
          return;
        }
        on_join(self, route, *j);
      } else if (auto* up = std::get_if<update_msg>(&body)) {
        on_update(self, *up);
      } else if (auto* e = std::get_if<error_msg>(&body)) {
        self->state.log.node->warn("a client reported: {}", e->message);
      } else if (std::holds_alternative<heartbeat_msg>(body)) {
        // Liveness is tracked by CAF's node heartbeats; nothing to do.
      } else {
        self->state.log.wire->warn("unexpected {} ignored",
                                   message_name(body));
      }
    },
    [self](lost_atom, const std::string& id, caf::error& why) {
      on_lost(self, id, std::move(why));
    },
    [self](deadline_atom, uint64_t round) {
      auto& st = self->state;
      if (st.current != phase::collecting || round != st.round)
        return;
      auto late = st.pending;
      for (const auto& id : late) {
        st.failures.push_back(fit_failure{
          id, make_fl_error(errc::timeout, "no update before the deadline")});
      }
      st.log.node->warn("round {}: deadline passed, {} client(s) did not "
                        "answer",
                        round, late.size());
      st.pending.clear();
      close_round(self);
    },
    [self](stop_atom) {
      self->state.log.node->warn("{} member(s) did not disconnect in time",
                                 count_alive(self->state.members));
      self->quit();
    },
  };
}

} // namespace

caf::actor spawn_server(caf::actor_system& sys, server_settings s,
                        std::shared_ptr<strategy> strat, flat_model initial,
                        caf::actor evaluator, loggers log) {
  // flat_model is move-only; spawn arguments must be copyable.
  auto model = std::make_shared<flat_model>(std::move(initial));
  return sys.spawn(server_behavior, std::move(s), std::move(strat),
                   std::move(model), std::move(evaluator), std::move(log));
}

} // namespace fl
