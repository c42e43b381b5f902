// The asynchronous server (FedAsync, FedBuff).
//
//   waiting --- min_clients joined ---> serving --- stop condition ---> stopping
//   (requests queue)                    (models out to <= concurrency     (Exit to all,
//                                        clients; updates handed to the    final evaluation,
//                                        aggregation actor on arrival)     quit when gone)
//
// No rounds: the model version advances with every accepted mix (FedAsync)
// or every K folded deltas (FedBuff). Staleness = version - base version.
// The aggregation actor mixes, folds, applies and guards; this actor only
// keeps the books, so it stays responsive whatever the model size.

#include "actors/async_server.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/aggregation_actor.hpp"
#include "actors/checkpoint_tracker.hpp"
#include "actors/interfaces.hpp"
#include "actors/members.hpp"
#include "actors/run_files.hpp"
#include "runtime/aggregation/async_rules.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/federation/client_evaluations.hpp"
#include "runtime/federation/evaluation_backlog.hpp"
#include "runtime/federation/fedbuff_schedule.hpp"
#include "runtime/federation/membership.hpp"
#include "runtime/federation/progress.hpp"
#include "runtime/storage/metrics.hpp"

namespace fl {

namespace {

using clock_type = std::chrono::steady_clock;

enum class phase { waiting, serving, stopping };

/// A member's model lease: a model is out and no update came back yet.
struct lease {
  bool holds_model = false;
  uint64_t id = 0;   ///< identifies the model handed out (deadline)
  size_t task = 0;   ///< logical clock: the planned task it runs
  uint64_t version = 0; ///< logical clock: the version handed out
};

/// An update that waits for its buffer (logical clock).
struct held_update {
  agg_update update;
  size_t task = 0;
  uint64_t staleness = 0;
  uint64_t base = 0; ///< the version it trained on
};

/// The books of a FedBuff run on a logical clock: the plan, who asked for
/// work, the model after each applied buffer still needed as a base, and
/// per buffer what was resolved and what waits.
struct logical_run {
  fedbuff_schedule plan;
  std::unordered_map<std::string, size_t> next; ///< member -> its next task
  /// Members that asked for work, by the base (buffers applied) their next
  /// task trains on: a dispatch reads only the bases that exist.
  std::map<uint64_t, std::set<std::string>> ready;
  std::set<size_t> undispatched;                ///< task indexes
  std::map<uint64_t, model_state> models;       ///< buffers applied -> model
  uint64_t open = 0;                            ///< the buffer being summed
  bool applying = false;
  std::vector<uint64_t> resolved;               ///< per buffer
  std::vector<uint64_t> refused;                ///< per buffer: no delta
  std::map<uint64_t, std::map<uint64_t, uint64_t>> staleness; ///< per buffer
  std::map<uint64_t, std::vector<held_update>> held; ///< per later buffer
  /// Per buffer, per task: its per-client record, written in task order
  /// when the buffer is applied (so the file is the same in every run).
  std::map<uint64_t, std::map<size_t, std::string>> client_lines;
};

/// A version due for evaluation and its record.
struct eval_job {
  async_record record;
  model_state model;
};

struct async_state {
  async_state() : members(model_layout{}, protocol_version) {}
  async_server_settings cfg;
  model_layout layout;
  aggregation_actor agg;
  caf::actor evaluator;
  loggers log;
  metrics_sink metrics;
  metrics_sink client_metrics;   ///< one record per update (optional)
  phase current = phase::waiting;
  uint64_t version = 0;
  model_state model; ///< the current global model (immutable)
  membership members;
  std::unordered_map<std::string, lease> leases;
  std::deque<std::string> queue; ///< requests waiting for a free slot
  uint64_t active = 0;           ///< models out
  uint64_t next_lease = 1;
  uint64_t applied = 0;
  uint64_t dropped = 0;
  uint64_t rejected = 0;         ///< candidates the guard refused
  uint64_t buffered = 0;         ///< FedBuff: deltas sent since the last apply
  uint64_t agg_in_flight = 0;    ///< requests the aggregation actor owes
  /// Updates handed to the aggregation actor and not refused by it: the
  /// applied ones plus those in flight (bounded by max_updates).
  uint64_t submitted = 0;
  /// Versions the aggregation actor is making (mixes, FedBuff applies sent
  /// and not answered): an update arriving now is mixed into version
  /// `version + pending_versions`, so its staleness counts them too.
  uint64_t pending_versions = 0;
  uint64_t recorded_version = 0; ///< the last version with a record
  std::map<uint64_t, uint64_t> staleness; ///< since the last record
  clock_type::time_point start;
  size_t evals_in_flight = 0;
  caf::error stop_reason;        ///< set when the run ends on an error
  checkpoint_tracker checkpoints;
  std::optional<double> last_accuracy; ///< of the last evaluated record
  std::optional<logical_run> logical; ///< FedBuff on a logical clock
  evaluation_backlog<eval_job> evals{1, false}; ///< bounded evaluations
  /// Records by version, written in version order once complete (their
  /// evaluations may finish out of order).
  std::map<uint64_t, std::optional<async_record>> unwritten;
  /// Client-side evaluations in flight, by version, and the outcomes of
  /// those closed before their record was written.
  client_evaluations client_evals;
  std::map<uint64_t, client_eval_summary> client_eval_done;
  static inline const char* name = "fl.async_server";
};

using async_actor = caf::stateful_actor<async_state>;

bool fedbuff_mode(const async_state& st) {
  return st.cfg.mode == federation_mode::fedbuff;
}

double elapsed(const async_state& st) {
  return std::chrono::duration<double>(clock_type::now() - st.start).count();
}

void stop(async_actor* self, const std::string& why, caf::error err = {});

/// Where the run stands: updates applied of max_updates, the time limit.
run_progress progress_of(const async_state& st) {
  run_progress p;
  p.unit = "update";
  p.done = st.applied;
  p.total = st.cfg.max_updates;
  p.elapsed_s = elapsed(st);
  p.max_seconds = st.cfg.max_seconds;
  p.accuracy = st.last_accuracy;
  return p;
}

/// The live progress line (on a terminal only).
void show_progress(async_actor* self) {
  const auto& st = self->state;
  if (st.log.status && st.log.status->enabled())
    st.log.progress(progress_text(progress_of(st)));
}

void dispatch(async_actor* self);
void close_client_eval(async_actor* self, uint64_t version);
void quit_when_done(async_actor* self);

void write_record(async_actor* self, async_record r) {
  auto& st = self->state;
  r.recorded_seconds = elapsed(st);
  std::string hist = "{";
  for (const auto& [s, n] : r.staleness) {
    if (hist.size() > 1)
      hist += ',';
    hist += "\"" + std::to_string(s) + "\":" + std::to_string(n);
  }
  hist += "}";
  const double rate = r.elapsed_seconds > 0
                        ? static_cast<double>(r.updates_applied)
                            / r.elapsed_seconds
                        : 0.0;
  json_record j;
  j.add("model_version", r.model_version)
    .add("elapsed_seconds", r.elapsed_seconds)
    .add("updates_applied", r.updates_applied)
    .add("updates_dropped", r.updates_dropped)
    .add("models_rejected", r.models_rejected)
    .add("updates_per_second", rate)
    .add_raw("staleness", hist);
  j.add("recorded_seconds", r.recorded_seconds);
  if (auto c = st.client_eval_done.find(r.model_version);
      c != st.client_eval_done.end()) {
    if (c->second.clients > 0) {
      r.clients_evaluated = c->second.clients;
      r.client_eval_loss = c->second.loss;
      r.client_eval_accuracy = c->second.accuracy;
      j.add("clients_evaluated", r.clients_evaluated)
        .add("client_eval_loss", r.client_eval_loss)
        .add("client_eval_accuracy", r.client_eval_accuracy);
    }
    st.client_eval_done.erase(c);
  }
  if (r.test_accuracy >= 0)
    j.add("evaluated_version", r.model_version)
      .add("eval_seconds", r.eval_seconds)
      .add("test_loss", r.test_loss)
      .add("test_accuracy", r.test_accuracy);
  else if (r.eval_skipped)
    j.add("eval", "skipped");
  st.metrics.write(j);
  if (r.test_accuracy >= 0)
    st.last_accuracy = r.test_accuracy;
  const auto eta = eta_seconds(progress_of(st));
  st.log.node->info("version {:>5} | acc {:.4f} | loss {:.4f} | {} applied, "
                    "{} dropped | {:.1f} updates/s | {:.1f} s | ETA {}",
                    r.model_version, r.test_accuracy, r.test_loss,
                    r.updates_applied, r.updates_dropped, rate,
                    r.elapsed_seconds,
                    eta ? fmt::format("{:.1f} s", *eta) : std::string{"-"});
  show_progress(self);
  if (st.cfg.log_sink)
    st.cfg.log_sink->add(r);
}

/// Writes every complete record in version order: evaluated (or not to
/// be) and its client-side evaluation closed.
void flush(async_actor* self) {
  auto& st = self->state;
  while (!st.unwritten.empty() && st.unwritten.begin()->second
         && !st.client_evals.open(st.unwritten.begin()->first)) {
    write_record(self, std::move(*st.unwritten.begin()->second));
    st.unwritten.erase(st.unwritten.begin());
  }
}

/// Completes the record of r.model_version and writes what is complete.
void emit(async_actor* self, async_record r) {
  auto& st = self->state;
  st.unwritten[r.model_version] = std::move(r);
  flush(self);
}

/// Closes the client-side evaluation of `version` (all answered, its
/// deadline, or the end of the run).
void close_client_eval(async_actor* self, uint64_t version) {
  auto& st = self->state;
  auto ev = st.client_evals.close(version);
  if (!ev)
    return;
  if (ev->missing > 0)
    st.log.node->warn("version {}: {} client(s) did not evaluate in time",
                      version, ev->missing);
  st.client_eval_done[version] = *ev;
  flush(self);
}

/// One client's answer to Evaluate of `version`.
void on_client_eval(async_actor* self, const std::string& id,
                    uint64_t version, const eval_result_msg* r) {
  auto& st = self->state;
  if (st.client_evals.answer(version, id, client_eval_answer(r),
                             client_eval_weight(st.members, id, r,
                                                st.cfg.guard.max_samples)))
    close_client_eval(self, version);
  quit_when_done(self);
}

/// Asks the strategy's sample of clients to evaluate the current version
/// on their held-out data (not while stopping: they are leaving).
void start_client_eval(async_actor* self) {
  auto& st = self->state;
  if (!st.cfg.strat || st.current == phase::stopping)
    return;
  ask_client_evaluation(self, st.members, *st.cfg.strat, st.client_evals,
                        st.version, st.layout, st.model,
                        st.cfg.update_deadline_s);
}

void quit_when_done(async_actor* self) {
  auto& st = self->state;
  if (st.current == phase::stopping) // answers will not come any more
    for (auto version : st.client_evals.keys())
      close_client_eval(self, version);
  if (st.current == phase::stopping && st.evals_in_flight == 0
      && st.agg_in_flight == 0 && st.members.alive() == 0)
    quit_after_checkpoints(self);
}

void evaluate(async_actor* self);

/// While stopping: once the aggregation actor answered every request, the
/// final model gets a record (unless it has one already).
void final_record(async_actor* self) {
  auto& st = self->state;
  if (st.current != phase::stopping || st.agg_in_flight > 0)
    return;
  if (st.recorded_version != st.version || st.version == 0)
    evaluate(self);
  quit_when_done(self);
}

/// One answer of the aggregation actor arrived.
void agg_answered(async_actor* self) {
  --self->state.agg_in_flight;
  final_record(self);
}

void run_evaluation(async_actor* self, eval_job job);

/// Records the current version: evaluated (when there is an evaluator)
/// through the bounded backlog, checkpointed when configured.
void evaluate(async_actor* self) {
  auto& st = self->state;
  async_record r;
  st.recorded_version = st.version;
  r.model_version = st.version;
  r.elapsed_seconds = elapsed(st);
  r.updates_applied = st.applied;
  r.updates_dropped = st.dropped;
  r.models_rejected = st.rejected;
  r.staleness = std::move(st.staleness);
  st.staleness.clear();
  start_client_eval(self);
  if (!st.cfg.checkpoint_dir.empty())
    request_checkpoint(self, st.agg, uint64_t{0});
  if (!st.evaluator) {
    emit(self, std::move(r));
    return;
  }
  ++st.evals_in_flight; // counts waiting ones too, until recorded
  st.unwritten.emplace(r.model_version, std::nullopt); // holds later ones
  eval_job job{std::move(r), st.model};
  auto offer = st.evals.offer(job);
  if (offer.skipped) {
    --st.evals_in_flight;
    offer.skipped->record.eval_skipped = true;
    emit(self, std::move(offer.skipped->record));
  }
  if (offer.start)
    run_evaluation(self, std::move(job));
}

void run_evaluation(async_actor* self, eval_job job) {
  auto& st = self->state;
  const auto started = clock_type::now();
  auto r = std::move(job.record);
  auto after = [self] {
    auto& s = self->state;
    if (auto next = s.evals.done())
      run_evaluation(self, std::move(*next));
    dispatch(self); // training may have waited for evaluation
  };
  self->request(st.evaluator, caf::infinite, eval_input{std::move(job.model)})
    .then(
      [self, r, started, after](eval_output& out) mutable {
        auto& s = self->state;
        --s.evals_in_flight;
        r.test_loss = out.loss;
        r.test_accuracy = out.accuracy;
        r.eval_seconds = std::chrono::duration<double>(clock_type::now()
                                                       - started)
                           .count();
        emit(self, r);
        after();
        if (s.cfg.target_accuracy > 0 && out.accuracy >= s.cfg.target_accuracy
            && s.current != phase::stopping)
          stop(self, "target accuracy reached");
        else
          quit_when_done(self);
      },
      [self, r, after](caf::error& err) mutable {
        auto& s = self->state;
        --s.evals_in_flight;
        s.log.node->error("evaluation failed: {}", describe(err));
        emit(self, r);
        after();
        quit_when_done(self);
      });
}

void logical_dispatch(async_actor* self);

/// Hands models to queued clients while slots are free. While the
/// aggregation actor is making a version, requests wait for it: a client
/// then trains from the newest model, as if the step had been immediate
/// (handing out the outgoing version would feed stale deltas back into the
/// next buffers and can make FedBuff diverge under load).
/// Leases `model` to member `id`: sends it (with the strategy's
/// instructions) and arms the deadline after which the lease is freed.
void hand_out(async_actor* self, const std::string& id, lease& l,
              const model_state& model) {
  auto& st = self->state;
  l.holds_model = true;
  l.id = st.next_lease++;
  l.version = model.version;
  ++st.active;
  model_msg m;
  m.model_version = model.version;
  if (st.cfg.strat)
    m.config = st.cfg.strat->fit_config(model.version, id);
  m.model.layout = st.layout;
  m.model.values = model.values;
  m.model.owner = model.owner;
  deliver_to(self, st.members, id, std::move(m));
  self->delayed_send(self, to_timespan(st.cfg.update_deadline_s),
                     deadline_atom::value, id, l.id);
}

void dispatch(async_actor* self) {
  auto& st = self->state;
  if (st.logical) {
    logical_dispatch(self);
    return;
  }
  // While evaluation lags (and skipping is off), training waits for it.
  while (st.current == phase::serving && st.active < st.cfg.concurrency
         && st.pending_versions == 0 && !st.evals.blocked()
         && !st.queue.empty()) {
    auto id = st.queue.front();
    st.queue.pop_front();
    auto& l = st.leases[id];
    if (!st.members.find(id) || l.holds_model)
      continue;
    hand_out(self, id, l, st.model);
  }
}

void logical_resolved(async_actor* self, size_t task, bool folded);

/// Frees `id`'s slot. Returns false if it held no model. With `gave_up`
/// (a failure, loss or deadline), a planned task (logical clock) is
/// resolved without a delta.
bool release_slot(async_actor* self, const std::string& id,
                  bool gave_up = true) {
  auto i = self->state.leases.find(id);
  if (i == self->state.leases.end() || !i->second.holds_model)
    return false;
  i->second.holds_model = false;
  --self->state.active;
  if (gave_up && self->state.logical)
    logical_resolved(self, i->second.task, false);
  return true;
}

void drop(async_actor* self, const std::string& id, uint64_t base,
          const caf::error& why) {
  auto& st = self->state;
  if (!st.logical) // on a logical clock, counted when its buffer is applied
    ++st.dropped;
  st.log.node->info("dropped update from {} (base version {}, server at {}): "
                    "{}",
                    id, base, st.version, describe(why));
}

/// One update was incorporated (mixed, or folded into the FedBuff buffer;
/// on a logical clock, when its buffer is applied).
void count_applied(async_actor* self, uint64_t staleness) {
  auto& st = self->state;
  ++st.applied;
  ++st.staleness[staleness];
  show_progress(self);
  if (!st.logical && st.current == phase::serving && st.cfg.max_updates > 0
      && st.applied >= st.cfg.max_updates)
    stop(self, std::to_string(st.applied) + " updates applied");
}

/// A candidate came back from the aggregation actor.
void on_outcome(async_actor* self, agg_outcome& o) {
  auto& st = self->state;
  if (o.accepted) {
    st.version = o.model.version;
    st.model = std::move(o.model);
    if (st.version % st.cfg.eval_every == 0)
      evaluate(self);
    return;
  }
  st.log.node->warn("model version {} kept: {}", st.version,
                    describe(o.reason));
  if (!has_code(o.reason, errc::rejected_model))
    return; // e.g. every delta of a FedBuff buffer was refused
  ++st.rejected;
  // The rejected candidate gets a metrics line of its own; nothing of it
  // reaches a checkpoint.
  json_record j;
  j.add("model_version", st.version)
    .add("elapsed_seconds", elapsed(st))
    .add("rejected", true)
    .add("outcome", describe(o.reason))
    .add("models_rejected", st.rejected);
  st.metrics.write(j);
  const auto limit = st.cfg.guard.max_rejections;
  if (limit > 0 && o.consecutive_rejections >= limit)
    stop(self, "the model diverged",
         make_fl_error(errc::rejected_model,
                       std::to_string(o.consecutive_rejections)
                         + " candidate models in a row were rejected (last: "
                         + describe(o.reason) + "); the model stays at "
                         + "version " + std::to_string(st.version)));
}

void mix_in(async_actor* self, agg_update u, double alpha, uint64_t base,
            uint64_t staleness) {
  auto& st = self->state;
  auto id = u.node_id;
  ++st.agg_in_flight;
  ++st.pending_versions;
  self->request(st.agg, caf::infinite, agg_mix_atom::value, std::move(u),
                alpha)
    .then([self, base, staleness, id](agg_outcome& o) {
      --self->state.pending_versions;
      if (o.update_refused || !o.accepted) {
        --self->state.submitted; // the budget is for applied updates
      }
      if (o.update_refused) {
        drop(self, id, base, o.reason);
      } else {
        if (o.accepted)
          count_applied(self, staleness);
        on_outcome(self, o);
      }
      agg_answered(self);
      dispatch(self);
    });
}

void buffer_in(async_actor* self, agg_update u, uint64_t base,
               uint64_t staleness) {
  auto& st = self->state;
  const auto id = u.node_id;
  ++st.agg_in_flight;
  self->request(st.agg, caf::infinite, agg_fold_atom::value, std::move(u))
    .then(
      [self, staleness](fold_receipt&) {
        count_applied(self, staleness);
        agg_answered(self);
      },
      [self, id, base](caf::error& err) {
        --self->state.submitted; // the budget is for applied updates
        drop(self, id, base, err);
        agg_answered(self);
      });
  // Counted when sent: the aggregation actor handles requests in order, so
  // the apply below covers exactly the deltas sent before it.
  if (++st.buffered < st.cfg.buffer_k)
    return;
  st.buffered = 0;
  ++st.agg_in_flight;
  ++st.pending_versions;
  self->request(st.agg, caf::infinite, agg_apply_atom::value,
                st.cfg.server_lr)
    .then([self](agg_outcome& o) {
      --self->state.pending_versions;
      on_outcome(self, o);
      agg_answered(self);
      dispatch(self);
    });
}

// --- FedBuff on a logical clock ------------------------------------------
// The plan (runtime/federation/fedbuff_schedule.hpp) fixes, for every task,
// its member, its base (the model after `base` buffers) and its buffer.
// This actor hands out a task once its member asked for work and its base
// exists, folds a delta only while its buffer is the open one (later ones
// wait in `held`), and applies a buffer when all its tasks are resolved.

/// Plans the run over the members present now. Errors: as the plan's.
caf::error start_logical(async_actor* self) {
  auto& st = self->state;
  if (st.cfg.max_updates == 0)
    return make_fl_error(errc::invalid_config,
                         "a FedBuff run on a logical clock needs "
                         "--max-updates > 0");
  std::vector<fedbuff_schedule::client> clients;
  for (const auto& m : st.members.alive_view()) {
    auto index = client_index(m.id);
    const double factor = st.cfg.profiles && index
                            ? st.cfg.profiles->speed(*index)
                            : 1.0;
    clients.push_back(
      {m.id, static_cast<double>(std::max<uint64_t>(m.num_samples, 1))
               * factor});
  }
  const auto k = std::max<uint64_t>(st.cfg.buffer_k, 1);
  const auto buffers = (st.cfg.max_updates + k - 1) / k;
  auto plan = fedbuff_schedule::plan(std::move(clients),
                                     std::max<uint64_t>(st.cfg.concurrency, 1),
                                     k, buffers, st.cfg.seed);
  if (!plan)
    return std::move(plan.error());
  logical_run run;
  run.plan = std::move(*plan);
  for (size_t i = 0; i < run.plan.tasks().size(); ++i)
    run.undispatched.insert(i);
  run.models.emplace(0, st.model);
  run.resolved.assign(buffers, 0);
  run.refused.assign(buffers, 0);
  st.log.node->info("FedBuff on a logical clock: {} tasks in {} buffers of {} "
                    "(the run is reproducible)",
                    run.plan.tasks().size(), buffers, k);
  st.logical = std::move(run);
  return caf::none;
}

void logical_hand_out(async_actor* self, const std::string& id,
                      const model_state& model);

void logical_dispatch(async_actor* self) {
  auto& st = self->state;
  auto& run = *st.logical;
  if (st.current != phase::serving || st.evals.blocked())
    return;
  for (auto bucket = run.ready.begin(); bucket != run.ready.end();) {
    auto model = run.models.find(bucket->first);
    if (model == run.models.end()) {
      ++bucket; // that base is not made yet
      continue;
    }
    for (const auto& id : bucket->second)
      logical_hand_out(self, id, model->second);
    bucket = run.ready.erase(bucket);
  }
}

/// Member `id` asked for work: it waits for the base of its next task (a
/// member with no task left, or lost, gets none).
void logical_ready(async_actor* self, const std::string& id) {
  auto& st = self->state;
  auto& run = *st.logical;
  const auto& mine = run.plan.tasks_of(id);
  const auto n = run.next[id];
  if (!st.members.find(id) || n >= mine.size())
    return;
  run.ready[run.plan.tasks()[mine[n]].base].insert(id);
}

/// Hands member `id` its next planned task on `model`.
void logical_hand_out(async_actor* self, const std::string& id,
                      const model_state& model) {
  auto& st = self->state;
  auto& run = *st.logical;
  if (!st.members.find(id))
    return;
  const auto task = run.plan.tasks_of(id)[run.next[id]++];
  run.undispatched.erase(task);
  auto& l = st.leases[id];
  l.task = task;
  hand_out(self, id, l, model);
}

void logical_apply(async_actor* self);

/// A member is gone: its tasks not yet handed out are resolved without a
/// delta, so their buffers still close (the run completes; it is no longer
/// the planned one).
void logical_forget(async_actor* self, const std::string& id) {
  auto& run = *self->state.logical;
  const auto& mine = run.plan.tasks_of(id);
  auto& next = run.next[id];
  if (next < mine.size())
    self->state.log.node->warn("{} planned task(s) of {} are dropped; this "
                               "run no longer follows its plan",
                               mine.size() - next, id);
  for (auto& [base, ids] : run.ready)
    ids.erase(id);
  for (; next < mine.size(); ++next) {
    run.undispatched.erase(mine[next]);
    logical_resolved(self, mine[next], false);
  }
}

/// Folds a delta of the open buffer.
void logical_fold(async_actor* self, held_update h) {
  auto& st = self->state;
  const auto task = h.task;
  const auto id = h.update.node_id;
  ++st.agg_in_flight;
  self->request(st.agg, caf::infinite, agg_fold_atom::value,
                std::move(h.update))
    .then(
      [self, task, staleness = h.staleness](fold_receipt&) {
        auto& run = *self->state.logical;
        ++run.staleness[run.plan.tasks()[task].buffer][staleness];
        agg_answered(self);
        logical_resolved(self, task, true);
      },
      [self, task, id, base = h.base](caf::error& err) {
        drop(self, id, base, err);
        agg_answered(self);
        logical_resolved(self, task, false);
      });
}

/// Task `task` is done with (its delta folded, or none).
void logical_resolved(async_actor* self, size_t task, bool folded) {
  auto& run = *self->state.logical;
  const auto b = run.plan.tasks()[task].buffer;
  ++run.resolved[b];
  if (!folded)
    ++run.refused[b];
  logical_apply(self);
}

/// Applies the open buffer once all its tasks are resolved; then the next
/// buffer opens and the deltas that waited for it are folded.
void logical_apply(async_actor* self) {
  auto& st = self->state;
  auto& run = *st.logical;
  if (run.applying || run.open >= run.plan.buffers()
      || run.resolved[run.open] < run.plan.k()
      || st.current != phase::serving)
    return;
  run.applying = true;
  ++st.agg_in_flight;
  self->request(st.agg, caf::infinite, agg_apply_atom::value,
                st.cfg.server_lr)
    .then([self](agg_outcome& o) {
      auto& s = self->state;
      auto& r = *s.logical;
      const auto b = r.open;
      s.dropped += r.refused[b];
      for (const auto& [stale, n] : r.staleness[b])
        for (uint64_t i = 0; i < n; ++i)
          count_applied(self, stale);
      r.staleness.erase(b);
      for (const auto& [task, line] : r.client_lines[b])
        s.client_metrics.write_line(line);
      r.client_lines.erase(b);
      on_outcome(self, o);
      r.models.emplace(b + 1, s.model);
      r.open = b + 1;
      r.applying = false;
      // Models no task still needs as a base are let go.
      const auto lowest = r.undispatched.empty()
                            ? r.open
                            : r.plan.tasks()[*r.undispatched.begin()].base;
      r.models.erase(r.models.begin(), r.models.lower_bound(lowest));
      agg_answered(self);
      if (r.open == r.plan.buffers()) {
        stop(self, std::to_string(s.applied) + " updates applied in "
                     + std::to_string(r.open) + " buffers");
        return;
      }
      auto waiting = std::move(r.held[r.open]);
      r.held.erase(r.open);
      for (auto& h : waiting)
        logical_fold(self, std::move(h));
      logical_apply(self); // a buffer whose tasks all failed
      dispatch(self);
    });
}

/// The per-client record of an update: taken (with its staleness) or
/// refused (with the reason). On a logical clock (`task` given) it names the
/// planned buffer instead of the current version and waits for its buffer.
void client_record(async_actor* self, const update_msg& up,
                   std::optional<uint64_t> staleness, const caf::error& why,
                   std::optional<size_t> task = std::nullopt) {
  auto& st = self->state;
  if (!st.client_metrics.enabled())
    return;
  json_record j;
  j.add("client", up.node_id).add("base_version", up.base_version);
  if (task)
    j.add("buffer", st.logical->plan.tasks()[*task].buffer);
  else
    j.add("version", st.version);
  j
    .add("status", why ? "refused" : "taken")
    .add("samples", up.num_samples)
    .add("train_loss", up.metrics.loss)
    .add("train_accuracy", up.metrics.accuracy)
    .add("train_seconds", up.metrics.train_seconds)
    .add("bytes_in", up.model.payload_bytes())
    .add("elapsed_seconds", elapsed(st));
  if (staleness)
    j.add("staleness", *staleness);
  if (why)
    j.add("reason", describe(why));
  if (task) {
    const auto buffer = st.logical->plan.tasks()[*task].buffer;
    st.logical->client_lines[buffer][*task] = j.str();
    return;
  }
  st.client_metrics.write(j);
}

void on_update(async_actor* self, update_msg& up) {
  auto& st = self->state;
  // On a logical clock the lease names the planned task it answers.
  std::optional<lease> leased;
  if (auto i = st.leases.find(up.node_id);
      st.logical && i != st.leases.end() && i->second.holds_model)
    leased = i->second;
  if (!release_slot(self, up.node_id, !leased)) {
    drop(self, up.node_id, up.base_version,
         make_fl_error(errc::unexpected_message,
                       "no model was handed out to it"));
    return;
  }
  auto refuse = [&](caf::error why) {
    client_record(self, up, std::nullopt, why,
                  leased ? std::optional<size_t>{leased->task} : std::nullopt);
    drop(self, up.node_id, up.base_version, why);
    if (leased)
      logical_resolved(self, leased->task, false);
    dispatch(self);
  };
  if (st.current != phase::serving)
    return refuse(make_fl_error(errc::unexpected_message, "server stopping"));
  caf::expected<uint64_t> staleness{uint64_t{0}};
  if (leased) {
    if (up.base_version != leased->version)
      return refuse(make_fl_error(errc::invalid_field,
                                  "base version "
                                    + std::to_string(up.base_version)
                                    + ", but version "
                                    + std::to_string(leased->version)
                                    + " was handed out"));
    staleness = st.logical->plan.tasks()[leased->task].staleness();
  } else {
    // Clients only ever get accepted versions: a base beyond st.version
    // was never handed out, whatever the aggregation actor is making.
    staleness = up.base_version > st.version
                  ? staleness_of(st.version, up.base_version, 0)
                  : staleness_of(st.version + st.pending_versions,
                                 up.base_version, st.cfg.max_staleness);
  }
  if (!staleness)
    return refuse(staleness.error());
  if (up.model.layout != st.layout)
    return refuse(make_fl_error(errc::layout_mismatch,
                                "update does not match the global model"));
  const auto limit = st.members.sample_limit(up.node_id,
                                             st.cfg.guard.max_samples);
  if (up.num_samples == 0 || up.num_samples > limit)
    return refuse(make_fl_error(errc::rejected_update,
                                "it claims " + std::to_string(up.num_samples)
                                  + " samples; at most "
                                  + std::to_string(limit) + " allowed"));
  const bool buffered = fedbuff_mode(st);
  // FedBuff sums deltas; FedAsync mixes parameters or (compressed) deltas.
  if (buffered && up.model.kind != tensor_kind::delta)
    return refuse(make_fl_error(errc::invalid_field, "FedBuff needs deltas"));
  if (leased) {
    client_record(self, up, *staleness, caf::error{}, leased->task);
    auto& run = *st.logical;
    const auto buffer = run.plan.tasks()[leased->task].buffer;
    held_update h{to_agg_update(up, st.cfg.staleness(*staleness)),
                  leased->task, *staleness, up.base_version};
    if (buffer == run.open)
      logical_fold(self, std::move(h));
    else
      run.held[buffer].push_back(std::move(h));
    dispatch(self);
    return;
  }
  if (st.cfg.max_updates > 0 && st.submitted >= st.cfg.max_updates)
    return refuse(make_fl_error(errc::unexpected_message,
                                "the update budget is used up"));
  ++st.submitted;
  client_record(self, up, *staleness, caf::error{});
  const double s = st.cfg.staleness(*staleness);
  auto u = to_agg_update(up, buffered ? s : 1.0);
  if (buffered)
    buffer_in(self, std::move(u), up.base_version, *staleness);
  else
    mix_in(self, std::move(u), st.cfg.alpha * s, up.base_version, *staleness);
  dispatch(self);
}

void stop(async_actor* self, const std::string& why, caf::error err) {
  auto& st = self->state;
  if (st.current == phase::stopping)
    return;
  st.current = phase::stopping;
  st.stop_reason = std::move(err);
  if (st.stop_reason)
    st.log.node->error("stopping the run: {}", describe(st.stop_reason));
  st.log.node->info("stopping: {}; model version {}, {} updates applied, {} "
                    "dropped; sending Exit to {} members",
                    why, st.version, st.applied, st.dropped,
                    st.members.alive());
  exit_all(self, st.members, why);
  final_record(self); // now, or when the aggregation actor is done
  self->delayed_send(self, to_timespan(st.cfg.exit_grace_s), stop_atom::value);
}

void on_lost(async_actor* self, const std::string& id, const caf::error& why) {
  auto& st = self->state;
  if (!st.members.lose(id))
    return;
  release_slot(self, id);
  if (st.current == phase::stopping) {
    quit_when_done(self);
    return;
  }
  st.log.node->warn("lost {}: {}", id, describe(why));
  if (st.logical)
    logical_forget(self, id);
  dispatch(self);
}

void on_join(async_actor* self, const caf::actor& route, const join_msg& j) {
  auto& st = self->state;
  if (!admit(self, st.members, route, j, st.log))
    return;
  deliver_to(self, st.members, j.node_id,
             welcome_msg{j.node_id, st.cfg.id, st.version,
                         st.cfg.heartbeat_ms, st.cfg.mode});
  if (st.current == phase::stopping) {
    deliver_to(self, st.members, j.node_id, exit_msg{"training finished"});
  } else if (st.current == phase::waiting
             && st.members.alive() >= st.cfg.min_clients) {
    st.current = phase::serving;
    st.start = clock_type::now();
    st.log.node->info("{} clients joined; serving models", st.members.alive());
    if (fedbuff_mode(st) && st.cfg.logical_clock) {
      if (auto err = start_logical(self)) {
        stop(self, "no plan", std::move(err));
        return;
      }
      for (auto& id : st.queue) // requests that came while waiting
        logical_ready(self, id);
      st.queue.clear();
    }
    if (st.cfg.max_seconds > 0)
      self->delayed_send(self, to_timespan(st.cfg.max_seconds),
                         stop_atom::value, true);
    dispatch(self);
  }
}

caf::behavior async_server(async_actor* self,
                           std::shared_ptr<async_server_settings> cfg,
                           std::shared_ptr<flat_model> initial,
                           caf::actor evaluator, loggers log) {
  auto& init = self->state;
  init.cfg = *cfg;
  init.layout = initial->layout();
  init.members = membership{init.layout, protocol_version};
  init.version = init.cfg.start_version;
  init.evaluator = std::move(evaluator);
  init.cfg.eval_every = std::max<uint64_t>(init.cfg.eval_every, 1);
  init.evals = evaluation_backlog<eval_job>{init.cfg.eval_limit,
                                            init.cfg.eval_skip_superseded};
  init.log = std::move(log);
  auto started = start_aggregation(
    self, std::move(initial), init.version, init.cfg.folder,
    aggregation_settings{init.cfg.guard,
                         init.cfg.checkpoint_dir,
                         init.cfg.detached_aggregation,
                         init.cfg.strat ? init.cfg.strat->plan()
                                        : aggregation_plan{},
                         std::max<uint64_t>(init.cfg.buffer_k, 1),
                         std::move(init.cfg.initial_state)},
    init.log);
  init.agg = std::move(started.agg);
  init.model = std::move(started.model);
  if (fedbuff_mode(init))
    // Staleness weights are at most 1 and an apply folds K of them.
    self->send(init.agg, agg_begin_atom::value, sum_kind::delta,
               static_cast<double>(std::max<uint64_t>(init.cfg.buffer_k, 1)));
  if (!open_run_files(self, init.cfg, init.cfg.start_version > 0))
    return {};
  init.log.node->info("async server {} ready: {} ({} parameters, concurrency "
                      "{}), waiting for {} clients",
                      init.cfg.id, fedbuff_mode(init) ? "FedBuff" : "FedAsync",
                      init.layout.numel(), init.cfg.concurrency,
                      init.cfg.min_clients);
  self->set_down_handler([self](caf::down_msg& dm) {
    for (const auto& id : self->state.members.routed_by(dm.source))
      on_lost(self, id, dm.reason);
  });
  return {
    [self](deliver_atom, envelope& env) {
      auto& st = self->state;
      auto& body = env.body;
      if (auto* j = std::get_if<join_msg>(&body)) {
        auto route = caf::actor_cast<caf::actor>(self->current_sender());
        if (route)
          on_join(self, route, *j);
      } else if (auto* r = std::get_if<request_msg>(&body)) {
        if (!st.members.find(r->node_id))
          return;
        if (st.current == phase::stopping) {
          deliver_to(self, st.members, r->node_id,
                     exit_msg{"training finished"});
          return;
        }
        if (st.logical)
          logical_ready(self, r->node_id);
        else
          st.queue.push_back(r->node_id);
        dispatch(self);
      } else if (auto* up = std::get_if<update_msg>(&body)) {
        on_update(self, *up);
      } else if (auto* ev = std::get_if<eval_result_msg>(&body)) {
        if (st.members.find(ev->node_id))
          on_client_eval(self, ev->node_id, ev->round, ev);
      } else if (auto* e = std::get_if<error_msg>(&body)) {
        st.log.node->warn("{} reported: {}",
                          e->node_id.empty() ? "a client" : e->node_id,
                          e->message);
        if (e->code == static_cast<uint16_t>(errc::not_implemented)
            && st.client_evals.awaits(e->round, e->node_id)) {
          // It cannot evaluate; its training slot is unaffected.
          on_client_eval(self, e->node_id, e->round, nullptr);
          return;
        }
        // A failed or lost client frees its slot at once.
        if (!e->node_id.empty() && st.members.find(e->node_id)
            && release_slot(self, e->node_id)) {
          if (!st.logical) // else counted with its buffer
            ++st.dropped;
          dispatch(self);
        }
      } else if (!std::holds_alternative<heartbeat_msg>(body)) {
        st.log.wire->warn("unexpected {} ignored", message_name(body));
      }
    },
    [self](lost_atom, const std::string& id, const caf::error& why) {
      on_lost(self, id, why);
    },
    [self](deadline_atom, const std::string& id, uint64_t lease_id) {
      auto& st = self->state;
      auto i = st.leases.find(id);
      if (i == st.leases.end() || !i->second.holds_model
          || i->second.id != lease_id)
        return;
      st.log.node->warn("{} sent no update within {} s; its slot is freed",
                        id, st.cfg.update_deadline_s);
      release_slot(self, id);
      if (!st.logical) // else counted with its buffer
        ++st.dropped;
      dispatch(self);
    },
    [self](client_eval_deadline_atom, uint64_t version) {
      close_client_eval(self, version);
      quit_when_done(self);
    },
    [self](stop_atom, bool) { stop(self, "time limit reached"); },
    [self](stop_atom) {
      auto& st = self->state;
      st.log.node->warn("{} member(s) did not disconnect in time",
                        st.members.alive());
      quit_after_checkpoints(self);
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
