// The synchronous federated server.
//
//              joins >= min_clients
//   waiting ------------------------> collecting <--------------------+
//      ^                                  |                            |
//      | no client available              | all sampled answered or    |
//      +----------------------------------+ failed (or the deadline),  |
//                                         | every fold acknowledged    |
//                                         v                            |
//                                    aggregating --- rounds left ------+
//                                         |   (finalize at the aggregation
//                                         |    actor; the guard decides)
//                                         | last round (and its evaluation),
//                                         | or too many rejected models
//                                         v
//                                     finishing --- members gone / grace ---> quit
//
// The server never touches model bytes: each update goes to the aggregation
// actor (ownership passes, no copy) the moment it arrives, and the round's
// candidate comes back as an immutable version that activations, evaluation
// and checkpoints share. Handlers only do bookkeeping, so the server answers
// joins and heartbeats while a big model is being folded.

#include "actors/server.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/aggregation_actor.hpp"
#include "actors/checkpoint_tracker.hpp"
#include "actors/interfaces.hpp"
#include "actors/members.hpp"
#include "actors/run_files.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/federation/client_evaluations.hpp"
#include "runtime/federation/evaluation_backlog.hpp"
#include "runtime/federation/membership.hpp"
#include "runtime/federation/progress.hpp"
#include "runtime/federation/round_collector.hpp"
#include "runtime/storage/metrics.hpp"

namespace fl {

namespace {

using clock_type = std::chrono::steady_clock;

enum class phase { waiting, collecting, aggregating, finishing };

/// A model due for evaluation: the round that made it and the model.
struct eval_job {
  uint64_t round = 0;
  model_state model;
};

struct server_state {
  server_state() : members(model_layout{}, protocol_version) {}
  server_settings cfg;
  std::shared_ptr<strategy> strat;
  model_layout layout;
  aggregation_actor agg;
  caf::actor evaluator;
  loggers log;
  metrics_sink metrics;
  metrics_sink client_metrics; ///< per-client records (optional)
  phase current = phase::waiting;
  uint64_t version = 0;
  uint64_t round = 0; ///< the last round started
  membership members;
  round_collector collector;
  /// The current global model (immutable; shared with activations).
  model_state model;
  round_record record;
  clock_type::time_point round_start;
  clock_type::time_point run_start;
  bool run_started = false;
  /// Records not yet written, by round: written in round order once ready
  /// (evaluated, or not to be evaluated).
  std::map<uint64_t, std::pair<round_record, bool>> awaiting_eval;
  /// Evaluations running and the one waiting (bounded): round and model.
  evaluation_backlog<eval_job> evals{1, false};
  bool round_waits_for_eval = false; ///< the next round starts after one
  /// Client-side evaluations in flight, by round.
  client_evaluations client_evals;
  aggregation_plan plan; ///< the strategy's, read once
  caf::error stop_reason; ///< set when the run ends on an error
  checkpoint_tracker checkpoints;
  uint64_t rounds_recorded = 0;        ///< the last round with a record
  std::optional<double> last_accuracy; ///< of the last evaluated round
  static inline const char* name = "fl.server";
};

using server_actor = caf::stateful_actor<server_state>;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

void start_round(server_actor* self);
void close_round(server_actor* self);

/// The live progress line (on a terminal only): rounds recorded, the
/// current round's updates, the last accuracy, the rate and the ETA.
void show_progress(server_actor* self) {
  const auto& st = self->state;
  if (!st.run_started || !st.log.status || !st.log.status->enabled())
    return;
  run_progress p;
  p.unit = "round";
  p.total = st.cfg.rounds;
  p.offset = st.cfg.start_round;
  p.done = std::max(st.rounds_recorded, st.cfg.start_round);
  p.elapsed_s = seconds_since(st.run_start);
  p.accuracy = st.last_accuracy;
  if (st.current == phase::collecting) {
    p.current = st.round;
    p.round_expected = st.record.sampled;
    p.round_in = st.record.sampled - std::min(st.record.sampled,
                                              st.collector.awaited());
  }
  st.log.progress(progress_text(p));
}
void finish(server_actor* self);

void emit(server_actor* self, round_record r) {
  auto& st = self->state;
  r.recorded_seconds = st.run_started ? seconds_since(st.run_start) : 0;
  json_record j;
  j.add("round", r.round)
    .add("model_version", r.model_version)
    .add("accepted", r.accepted)
    .add("rejected", r.rejected)
    .add("outcome", r.outcome)
    .add("round_seconds", r.round_seconds)
    .add("elapsed_seconds", r.elapsed_seconds)
    .add("recorded_seconds", r.recorded_seconds)
    .add("sampled", static_cast<uint64_t>(r.sampled))
    .add("clients_ok", static_cast<uint64_t>(r.clients_ok))
    .add("clients_failed", static_cast<uint64_t>(r.clients_failed))
    .add("train_loss", r.train_loss)
    .add("train_seconds", r.train_seconds)
    .add("bytes_out", r.bytes_out)
    .add("bytes_in", r.bytes_in);
  if (r.clients_evaluated > 0)
    j.add("clients_evaluated", r.clients_evaluated)
      .add("client_eval_loss", r.client_eval_loss)
      .add("client_eval_accuracy", r.client_eval_accuracy);
  if (r.test_accuracy >= 0)
    j.add("evaluated_version", r.evaluated_version)
      .add("eval_seconds", r.eval_seconds)
      .add("test_loss", r.test_loss)
      .add("test_accuracy", r.test_accuracy);
  else if (r.eval_skipped)
    j.add("eval", "skipped");
  st.metrics.write(j);
  if (st.cfg.log_sink)
    st.cfg.log_sink->add(r);
  st.rounds_recorded = r.round;
  if (r.test_accuracy >= 0)
    st.last_accuracy = r.test_accuracy;
  const auto total = st.cfg.rounds;
  // The ETA counts the time evaluation holds rounds back.
  const double per_round = r.recorded_seconds / static_cast<double>(
                             std::max<uint64_t>(1, r.round - st.cfg.start_round));
  const double eta = per_round * static_cast<double>(total - r.round);
  if (r.test_accuracy >= 0)
    st.log.node->info("round {:>3}/{} | acc {:.4f} | loss {:.4f} | {}/{} ok"
                      " | {:.3f} s + eval {:.3f} s | ETA {:.1f} s",
                      r.round, total, r.test_accuracy, r.test_loss,
                      r.clients_ok, r.sampled, r.round_seconds,
                      r.eval_seconds, eta);
  else
    st.log.node->info("round {:>3}/{} | train loss {:.4f} | {}/{} ok | {:.3f} s"
                      " | ETA {:.1f} s",
                      r.round, total, r.train_loss, r.clients_ok, r.sampled,
                      r.round_seconds, eta);
  if (!r.accepted)
    st.log.node->warn("round {} kept the previous model: {}", r.round,
                      r.outcome);
  show_progress(self);
}

/// Closes the round once nobody is awaited and every fold was answered.
void maybe_close(server_actor* self) {
  auto& st = self->state;
  if (st.current == phase::collecting && st.collector.complete())
    close_round(self);
}

void fail_member(server_actor* self, const std::string& id, caf::error why) {
  auto& st = self->state;
  if (st.current != phase::collecting || !st.collector.fail(id, why))
    return;
  st.log.node->warn("round {}: client {} failed: {}", st.round, id,
                    describe(why));
  maybe_close(self);
}

/// Ends the run with `why` (non-zero exit of the process): Exit to every
/// member, then quit with the error.
void abort_run(server_actor* self, caf::error why) {
  auto& st = self->state;
  st.log.node->error("stopping the run: {}", describe(why));
  st.stop_reason = std::move(why);
  st.collector.abandon();
  st.current = phase::finishing;
  if (st.awaiting_eval.empty())
    finish(self);
}

void on_join(server_actor* self, const caf::actor& route, const join_msg& j) {
  auto& st = self->state;
  if (!admit(self, st.members, route, j, st.log))
    return;
  st.log.node->debug("{} joined ({} samples), {} members", j.node_id,
                     j.num_samples, st.members.alive());
  deliver_to(self, st.members, j.node_id,
             welcome_msg{j.node_id, st.cfg.id, st.version,
                         st.cfg.heartbeat_ms, federation_mode::sync});
  if (st.current == phase::waiting
      && st.members.alive() >= st.cfg.min_clients) {
    st.log.node->info("{} clients joined; starting round {}",
                      st.members.alive(), st.round + 1);
    start_round(self);
  } else if (st.current == phase::finishing) {
    deliver_to(self, st.members, j.node_id, exit_msg{"training finished"});
  }
}

void on_update(server_actor* self, update_msg& up) {
  auto& st = self->state;
  switch (st.collector.admit(up.node_id, up.round)) {
    case update_admission::accepted:
      break;
    case update_admission::not_expected:
      st.log.node->warn("dropped update from {}: not sampled or already "
                        "answered in round {}",
                        up.node_id, st.round);
      return;
    default:
      st.log.node->info("dropped update from {} for round {}: the server is "
                        "in round {} ({})",
                        up.node_id, up.round, st.round,
                        up.round < st.round ? "late" : "not started");
      return;
  }
  show_progress(self);
  const auto id = up.node_id;
  auto refuse = [&](caf::error why) {
    st.log.node->warn("round {}: update from {} refused: {}", st.round, id,
                      describe(why));
    st.collector.fold_failed(id, std::move(why));
    maybe_close(self);
  };
  if (up.model.layout != st.layout)
    return refuse(make_fl_error(errc::layout_mismatch,
                                "update does not match the global model"));
  const auto limit = st.members.sample_limit(id, st.cfg.guard.max_samples);
  if (up.num_samples == 0 || up.num_samples > limit)
    return refuse(make_fl_error(errc::rejected_update,
                                "it claims " + std::to_string(up.num_samples)
                                  + " samples; at most "
                                  + std::to_string(limit) + " allowed"));
  const auto bytes = up.model.payload_bytes();
  fit_result r{id, up.num_samples, up.metrics, up.extra, bytes};
  const double w = st.strat->fit_weight(r);
  if (!(w > 0) || !std::isfinite(w))
    return refuse(make_fl_error(errc::invalid_field, "update has no weight"));
  auto u = to_agg_update(up, w);
  fold_for_round(self, std::move(u), std::move(r), [self, bytes](bool ok) {
    if (ok)
      self->state.record.bytes_in += bytes;
    maybe_close(self);
  });
}

/// Sends the round's activation to `sampled`: one multicast per distinct
/// configuration (one for the built-in strategies), or, with SCAFFOLD,
/// one activation per client carrying its correction c - c_i (asked of the
/// aggregation actor, which holds the control variates).
void activate(server_actor* self, const std::vector<std::string>& sampled,
              activation_msg act) {
  auto& st = self->state;
  const auto model_bytes = act.model.values.size_bytes();
  if (st.plan.control_variates) {
    for (const auto& id : sampled) {
      const auto round = act.round;
      self->request(st.agg, caf::infinite, agg_control_atom::value, id)
        .then([self, id, round, act](model_state& c) mutable {
          auto& s = self->state;
          if (s.current != phase::collecting || s.round != round)
            return;
          act.config = s.strat->fit_config(round, id);
          act.control.kind = tensor_kind::delta;
          act.control.layout = s.layout;
          act.control.values = c.values;
          act.control.owner = c.owner;
          const auto bytes = act.model.values.size_bytes() * 2;
          multicast(self, s.members, {id}, act, [&](size_t n) {
            s.record.bytes_out += bytes * n;
          });
        });
    }
    return;
  }
  std::map<config_map, std::vector<std::string>> by_config;
  for (const auto& id : sampled)
    by_config[st.strat->fit_config(act.round, id)].push_back(id);
  for (auto& [config, ids] : by_config) {
    act.config = config;
    multicast(self, st.members, ids, act, [&](size_t n) {
      st.record.bytes_out += model_bytes * n;
    });
  }
}

void start_round(server_actor* self) {
  auto& st = self->state;
  const uint64_t next = st.round + 1;
  if (next > st.cfg.rounds) { // resumed after the last round
    st.current = phase::finishing;
    finish(self);
    return;
  }
  std::vector<client_info> online;
  auto sampled = st.strat->configure_fit(
    next, online_clients(st.members, st.cfg.profiles.get(), online));
  if (sampled.empty() && online.empty() && st.members.alive() > 0
      && st.cfg.profiles && !st.cfg.profiles->always_online()) {
    // Every member is offline now: try again shortly.
    st.log.node->info("no client online for round {}; retrying in 1 s",
                      next);
    st.current = phase::waiting;
    self->delayed_send(self, std::chrono::seconds(1), retry_atom::value);
    return;
  }
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
  st.collector.start(next, sampled);
  st.log.node->debug("round {} started: {} sampled", next, sampled.size());
  // A fresh sum, its weights normalised by the most this round can fold.
  self->send(st.agg, agg_begin_atom::value, sum_kind::params,
             st.members.sample_budget(sampled, st.cfg.guard.max_samples));
  st.record = round_record{};
  st.record.round = st.round;
  st.record.sampled = sampled.size();
  activation_msg act;
  act.round = st.round;
  act.model_version = st.version;
  act.model.kind = tensor_kind::params;
  act.model.layout = st.layout;
  act.model.values = st.model.values;
  act.model.owner = st.model.owner;
  activate(self, sampled, std::move(act));
  self->delayed_send(self, to_timespan(st.cfg.round_deadline_s),
                     deadline_atom::value, st.round);
  show_progress(self);
}

/// Writes the records that are ready, in round order, up to the first one
/// still being evaluated.
void emit_ready(server_actor* self) {
  auto& pending = self->state.awaiting_eval;
  auto& clients = self->state.client_evals;
  while (!pending.empty() && pending.begin()->second.second
         && !clients.open(pending.begin()->first)) {
    emit(self, pending.begin()->second.first);
    pending.erase(pending.begin());
  }
}

void evaluate(server_actor* self, eval_job job);

/// Records the model of round `r.round`: evaluated when it was accepted and
/// the round is one to evaluate (every eval_every rounds, and the last);
/// the record is written when its evaluation returns (or is skipped),
/// after those of earlier rounds. Evaluations beyond eval_limit wait in
/// the backlog.
void evaluate_or_emit(server_actor* self, const round_record& r) {
  auto& st = self->state;
  const auto round = r.round;
  const bool due = r.round % st.cfg.eval_every == 0
                   || r.round >= st.cfg.rounds;
  const bool evaluate_it = st.evaluator && r.accepted && due;
  st.awaiting_eval.emplace(round, std::make_pair(r, !evaluate_it));
  if (!evaluate_it) {
    emit_ready(self);
    return;
  }
  eval_job job{round, st.model};
  auto offer = st.evals.offer(job);
  if (offer.skipped) {
    // Superseded while it waited: its record goes out without accuracy.
    auto& entry = st.awaiting_eval.at(offer.skipped->round);
    entry.first.eval_skipped = true;
    entry.second = true;
    emit_ready(self);
  }
  if (offer.start)
    evaluate(self, std::move(job));
}

void evaluate(server_actor* self, eval_job job) {
  auto& st = self->state;
  const auto started = clock_type::now();
  const auto round = job.round;
  const auto version = job.model.version;
  auto done = [self, round, version, started](const eval_output* out,
                                              const caf::error* err) {
    auto& s = self->state;
    auto i = s.awaiting_eval.find(round);
    if (i != s.awaiting_eval.end()) {
      auto& rec = i->second.first;
      if (out) {
        rec.test_loss = out->loss;
        rec.test_accuracy = out->accuracy;
        rec.evaluated_version = version;
        rec.eval_seconds = seconds_since(started);
      } else {
        s.log.node->error("evaluation of round {} failed: {}", round,
                          describe(*err));
      }
      i->second.second = true;
      emit_ready(self);
    }
    if (out && s.cfg.target_accuracy > 0
        && out->accuracy >= s.cfg.target_accuracy
        && s.current != phase::finishing) {
      s.log.node->info("target accuracy {:.4f} reached at round {}",
                       s.cfg.target_accuracy, round);
      s.collector.abandon(); // the round in progress (if any)
      s.round_waits_for_eval = false;
      s.current = phase::finishing;
    }
    if (auto next = s.evals.done())
      evaluate(self, std::move(*next));
    if (s.round_waits_for_eval && !s.evals.blocked()) {
      s.round_waits_for_eval = false;
      start_round(self);
    }
    if (s.current == phase::finishing && s.awaiting_eval.empty())
      finish(self);
  };
  self->request(st.evaluator, caf::infinite,
                eval_input{std::move(job.model)})
    .then([done](eval_output& out) { done(&out, nullptr); },
          [done](caf::error& err) { done(nullptr, &err); });
}

/// Closes the client-side evaluation of `round` (all answered, or its
/// deadline): the weighted means go into its record.
void close_client_eval(server_actor* self, uint64_t round) {
  auto& st = self->state;
  auto ev = st.client_evals.close(round);
  if (!ev)
    return;
  auto rec = st.awaiting_eval.find(round);
  if (rec != st.awaiting_eval.end() && ev->clients > 0) {
    rec->second.first.clients_evaluated = ev->clients;
    rec->second.first.client_eval_loss = ev->loss;
    rec->second.first.client_eval_accuracy = ev->accuracy;
  }
  if (ev->missing > 0)
    st.log.node->warn("round {}: {} client(s) did not evaluate in time",
                      round, ev->missing);
  const bool waiting = !st.awaiting_eval.empty();
  emit_ready(self);
  if (waiting && st.current == phase::finishing && st.awaiting_eval.empty())
    finish(self);
}

/// One client's answer to Evaluate (a result, or an error saying why not).
void on_client_eval(server_actor* self, const std::string& id,
                    uint64_t round, const eval_result_msg* r) {
  auto& st = self->state;
  if (!st.client_evals.awaits(round, id)) {
    st.log.node->debug("unexpected evaluation from {} for round {}", id,
                       round);
    return;
  }
  if (st.client_evals.answer(round, id, client_eval_answer(r),
                             client_eval_weight(st.members, id, r,
                                                st.cfg.guard.max_samples)))
    close_client_eval(self, round);
}

/// Asks the strategy's sample of clients to evaluate the model accepted in
/// the current round on their held-out data.
void start_client_eval(server_actor* self) {
  auto& st = self->state;
  ask_client_evaluation(self, st.members, *st.strat, st.client_evals,
                        st.round, st.layout, st.model,
                        st.cfg.round_deadline_s);
}

/// The round's outcome is known: record it, go on or finish.
void end_round(server_actor* self) {
  auto& st = self->state;
  st.record.model_version = st.version;
  if (st.record.accepted)
    start_client_eval(self);
  evaluate_or_emit(self, st.record);
  if (st.current == phase::finishing) // aborted meanwhile
    return;
  if (st.round < st.cfg.rounds) {
    if (st.evals.blocked()) { // evaluation lags: it holds the next round
      st.round_waits_for_eval = true;
      return;
    }
    start_round(self);
    return;
  }
  st.current = phase::finishing;
  if (st.awaiting_eval.empty())
    finish(self);
}

void on_outcome(server_actor* self, agg_outcome& o) {
  auto& st = self->state;
  auto& r = st.record;
  if (o.accepted) {
    st.version = o.model.version;
    st.model = std::move(o.model);
    r.accepted = true;
    r.outcome = "ok";
    if (!st.cfg.checkpoint_dir.empty())
      request_checkpoint(self, st.agg, st.round);
  } else {
    r.accepted = false;
    r.rejected = has_code(o.reason, errc::rejected_model);
    r.outcome = (r.rejected ? "rejected: " : "") + describe(o.reason);
  }
  const auto limit = st.cfg.guard.max_rejections;
  if (r.rejected && limit > 0 && o.consecutive_rejections >= limit) {
    r.model_version = st.version;
    evaluate_or_emit(self, r); // after the records of earlier rounds
    abort_run(self, make_fl_error(errc::rejected_model,
                                  std::to_string(o.consecutive_rejections)
                                    + " candidate models in a row were "
                                      "rejected (last: "
                                    + describe(o.reason)
                                    + "); the model stays at version "
                                    + std::to_string(st.version)));
    return;
  }
  end_round(self);
}

/// One record per sampled client of the round, in id order (so that
/// reproducible runs give identical files apart from timings).
void write_client_records(server_actor* self, std::vector<fit_result> results,
                          std::vector<fit_failure> failures) {
  auto& st = self->state;
  if (!st.client_metrics.enabled())
    return;
  const auto bytes = st.model.values.size_bytes();
  std::sort(results.begin(), results.end(),
            [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
  std::sort(failures.begin(), failures.end(),
            [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
  for (const auto& x : results) {
    json_record j;
    j.add("round", st.round)
      .add("client", x.node_id)
      .add("status", "ok")
      .add("samples", x.num_samples)
      .add("train_loss", x.metrics.loss)
      .add("train_accuracy", x.metrics.accuracy)
      .add("train_seconds", x.metrics.train_seconds)
      .add("bytes_out", static_cast<uint64_t>(bytes))
      .add("bytes_in", x.upload_bytes);
    // The client's own metrics (Update.extra), under "extra.<key>".
    for (const auto& [key, value] : x.extra)
      std::visit([&j, k = "extra." + key](const auto& v) { j.add(k, v); },
                 value);
    st.client_metrics.write(j);
  }
  for (const auto& x : failures) {
    json_record j;
    j.add("round", st.round)
      .add("client", x.node_id)
      .add("status", "failed")
      .add("reason", describe(x.reason))
      .add("bytes_out", static_cast<uint64_t>(bytes));
    st.client_metrics.write(j);
  }
}

void close_round(server_actor* self) {
  auto& st = self->state;
  st.current = phase::aggregating;
  auto& r = st.record;
  r.round_seconds = seconds_since(st.round_start);
  r.elapsed_seconds = seconds_since(st.run_start);
  auto [results, failures] = st.collector.take();
  write_client_records(self, results, failures);
  r.clients_ok = results.size();
  r.clients_failed = failures.size();
  double loss_sum = 0, n = 0, seconds = 0;
  for (const auto& x : results) {
    loss_sum += x.metrics.loss * static_cast<double>(x.num_samples);
    n += static_cast<double>(x.num_samples);
    seconds += x.metrics.train_seconds;
  }
  r.train_loss = n > 0 ? loss_sum / n : 0;
  r.train_seconds = results.empty()
                      ? 0
                      : seconds / static_cast<double>(results.size());
  if (auto no = st.strat->aggregate_fit(st.round, results, failures,
                                        r.sampled)) {
    r.accepted = false;
    r.outcome = describe(no); // the next round begins a fresh sum
    end_round(self);
    return;
  }
  self->request(st.agg, caf::infinite, agg_final_atom::value,
                st.strat->step_scale(results))
    .then([self](agg_outcome& o) { on_outcome(self, o); },
          [self](caf::error& err) {
            agg_outcome o;
            o.reason = std::move(err);
            on_outcome(self, o);
          });
}

void finish(server_actor* self) {
  auto& st = self->state;
  const auto why = st.stop_reason ? "stopped: " + describe(st.stop_reason)
                                  : std::string{"training finished"};
  st.log.node->info("{} after {} rounds (model version {}); sending Exit to "
                    "{} members",
                    why, st.round, st.version, st.members.alive());
  exit_all(self, st.members, why);
  if (st.members.alive() == 0) {
    quit_after_checkpoints(self);
    return;
  }
  self->delayed_send(self, to_timespan(st.cfg.exit_grace_s),
                     stop_atom::value);
}

void on_lost(server_actor* self, const std::string& id, caf::error why) {
  auto& st = self->state;
  if (!st.members.lose(id))
    return;
  if (st.current == phase::finishing) {
    st.log.node->debug("{} left", id);
    if (st.members.alive() == 0 && st.awaiting_eval.empty())
      quit_after_checkpoints(self);
    return;
  }
  st.log.node->warn("lost {}: {}", id, describe(why));
  fail_member(self, id, make_fl_error(errc::peer_lost, describe(why)));
}

caf::behavior server_behavior(server_actor* self, server_settings cfg,
                              std::shared_ptr<strategy> strat,
                              std::shared_ptr<flat_model> initial,
                              caf::actor evaluator, loggers log) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  init.strat = std::move(strat);
  init.layout = initial->layout();
  init.members = membership{init.layout, protocol_version};
  init.evaluator = std::move(evaluator);
  init.cfg.eval_every = std::max<uint64_t>(init.cfg.eval_every, 1);
  init.evals = evaluation_backlog<eval_job>{init.cfg.eval_limit,
                                            init.cfg.eval_skip_superseded};
  init.log = std::move(log);
  init.round = init.cfg.start_round;
  init.version = init.cfg.start_version;
  init.plan = init.strat->plan();
  auto started = start_aggregation(
    self, std::move(initial), init.version, init.cfg.folder,
    aggregation_settings{init.cfg.guard, init.cfg.checkpoint_dir,
                         init.cfg.detached_aggregation, init.plan,
                         init.cfg.resident_limit,
                         std::move(init.cfg.initial_state)},
    init.log);
  init.agg = std::move(started.agg);
  init.model = std::move(started.model);
  if (!open_run_files(self, init.cfg, init.cfg.start_round > 0))
    return {};
  if (init.cfg.start_round > 0)
    init.log.node->info("resuming after round {} at model version {}",
                        init.cfg.start_round, init.cfg.start_version);
  init.log.node->info("server {} ready: {} ({} parameters), waiting for {} "
                      "clients",
                      init.cfg.id, init.strat->name(), init.layout.numel(),
                      init.cfg.min_clients);
  self->set_down_handler([self](caf::down_msg& dm) {
    for (const auto& id : self->state.members.routed_by(dm.source))
      on_lost(self, id, dm.reason ? dm.reason : make_fl_error(errc::peer_lost,
                                                              "actor ended"));
  });
  return {
    [self](deliver_atom, envelope& env) {
      auto& st = self->state;
      auto route = caf::actor_cast<caf::actor>(self->current_sender());
      auto& body = env.body;
      if (auto* j = std::get_if<join_msg>(&body)) {
        if (!route) {
          st.log.wire->warn("join without a sender ignored");
          return;
        }
        on_join(self, route, *j);
      } else if (auto* up = std::get_if<update_msg>(&body)) {
        on_update(self, *up);
      } else if (auto* r = std::get_if<eval_result_msg>(&body)) {
        if (st.members.find(r->node_id))
          on_client_eval(self, r->node_id, r->round, r);
      } else if (auto* e = std::get_if<error_msg>(&body)) {
        if (e->node_id.empty() || !st.members.find(e->node_id)) {
          st.log.node->warn("a client reported: {}", e->message);
          return;
        }
        if (e->code == static_cast<uint16_t>(errc::not_implemented)
            && st.client_evals.awaits(e->round, e->node_id)) {
          // A client that cannot evaluate: its training is unaffected.
          st.log.node->warn("{}", e->message);
          on_client_eval(self, e->node_id, e->round, nullptr);
          return;
        }
        fail_member(self, e->node_id,
                    make_fl_error(errc::training_failed, e->message));
      } else if (std::holds_alternative<heartbeat_msg>(body)) {
        // Liveness is tracked by CAF's node heartbeats; nothing to do.
      } else {
        st.log.wire->warn("unexpected {} ignored", message_name(body));
      }
    },
    [self](lost_atom, const std::string& id, caf::error& why) {
      on_lost(self, id, std::move(why));
    },
    [self](deadline_atom, uint64_t round) {
      auto& st = self->state;
      if (st.current != phase::collecting)
        return;
      if (auto late = st.collector.deadline(round)) {
        st.log.node->warn("round {}: deadline passed, {} client(s) did not "
                          "answer",
                          round, late);
        maybe_close(self);
      }
    },
    [self](client_eval_deadline_atom, uint64_t round) {
      close_client_eval(self, round);
    },
    [self](retry_atom) {
      if (self->state.current == phase::waiting)
        start_round(self);
    },
    [self](stop_atom) {
      auto& st = self->state;
      st.log.node->warn("{} member(s) did not disconnect in time",
                        st.members.alive());
      quit_after_checkpoints(self);
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
