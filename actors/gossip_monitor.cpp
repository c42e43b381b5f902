#include "actors/gossip_monitor.hpp"

#include <cmath>
#include <deque>
#include <map>
#include <set>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/peer.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/gossip/mixing.hpp"
#include "runtime/storage/metrics.hpp"

namespace fl {

namespace {

/// A record waiting for its evaluations.
struct pending_record {
  gossip_record rec;
  size_t evals_left = 0;
  std::vector<double> peer_acc;
  bool last = false;
};

struct monitor_state {
  std::vector<caf::actor> peers;
  std::map<uint64_t, std::vector<peer_report>> rounds; ///< sync
  std::map<size_t, std::pair<uint64_t, uint64_t>> sent; ///< bytes, models
  std::map<size_t, uint64_t> steps;                     ///< last seen
  std::set<size_t> finished;
  std::deque<pending_record> queue;
  uint64_t records = 0;
  bool snapshot_in_flight = false;
  bool final_snapshot = false;
  bool done = false;
  run_sinks sinks;
  std::chrono::steady_clock::time_point start;
  static inline const char* name = "fl.gossip_monitor";
};

using monitor_actor = caf::stateful_actor<monitor_state>;

struct monitor_env {
  gossip_monitor_settings s;
  caf::actor evaluator;
  std::shared_ptr<gossip_log> out;
  loggers log;
};

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB"};
  int u = 0;
  while (b >= 1000 && u < 3) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s", b, units[u]);
  return buf;
}

json_record to_json(const gossip_record& r) {
  json_record j;
  j.add("round", r.round).add("elapsed_seconds", r.elapsed_seconds);
  j.add("mean_step", r.mean_step).add("peers", static_cast<uint64_t>(r.peers));
  if (r.test_accuracy) {
    j.add("test_accuracy", *r.test_accuracy).add("test_loss", *r.test_loss);
  }
  if (r.peer_accuracy_mean) {
    j.add("peer_accuracy_mean", *r.peer_accuracy_mean)
      .add("peer_accuracy_std", *r.peer_accuracy_std)
      .add("peer_accuracy_min", *r.peer_accuracy_min)
      .add("peer_accuracy_max", *r.peer_accuracy_max);
  }
  if (r.consensus_distance)
    j.add("consensus_distance", *r.consensus_distance);
  j.add("mix_distance", r.mix_distance);
  j.add("bytes_sent", r.bytes_sent_per_peer * static_cast<double>(r.peers));
  j.add("bytes_sent_per_peer", r.bytes_sent_per_peer);
  j.add("models_sent_per_peer", r.models_sent_per_peer);
  j.add("neighbors_missed", r.neighbors_missed).add("late_shares", r.late);
  j.add("refused_shares", r.refused);
  j.add("max_staleness", r.max_staleness);
  return j;
}

void log_record(const monitor_env& e, const gossip_record& r) {
  const char* unit = e.s.asynchronous ? "snapshot" : "round";
  std::string text = fmt::format("{} {}", unit, r.round);
  if (!e.s.asynchronous)
    text += fmt::format("/{}", e.s.rounds);
  else
    text += fmt::format(" (mean iteration {:.1f}/{})", r.mean_step,
                        e.s.rounds);
  if (r.test_accuracy)
    text += fmt::format(": {} accuracy {:.4f}",
                        r.peers > 1 ? "average model" : "model",
                        *r.test_accuracy);
  if (r.peer_accuracy_mean && r.peers > 1)
    text += fmt::format(", peers {:.4f} +- {:.4f}", *r.peer_accuracy_mean,
                        *r.peer_accuracy_std);
  if (r.consensus_distance)
    text += fmt::format(", consensus distance {:.4f}", *r.consensus_distance);
  text += fmt::format(", {} sent per peer per {}",
                      human_bytes(r.bytes_sent_per_peer),
                      e.s.asynchronous ? "iteration" : "round");
  e.log.node->info("{}", text);
  e.log.progress(text);
}

/// Writes the records whose evaluations are all in, in order.
void flush(monitor_actor* self, const std::shared_ptr<monitor_env>& e) {
  auto& st = self->state;
  while (!st.queue.empty() && st.queue.front().evals_left == 0) {
    auto p = std::move(st.queue.front());
    st.queue.pop_front();
    if (!p.peer_acc.empty()) {
      double sum = 0, sq = 0, lo = 1, hi = 0;
      for (auto a : p.peer_acc) {
        sum += a;
        lo = std::min(lo, a);
        hi = std::max(hi, a);
      }
      const auto k = static_cast<double>(p.peer_acc.size());
      auto mean = sum / k;
      for (auto a : p.peer_acc)
        sq += (a - mean) * (a - mean);
      p.rec.peer_accuracy_mean = mean;
      p.rec.peer_accuracy_std = std::sqrt(sq / k);
      p.rec.peer_accuracy_min = lo;
      p.rec.peer_accuracy_max = hi;
    }
    st.sinks.records.write(to_json(p.rec));
    log_record(*e, p.rec);
    e->out->records.push_back(p.rec);
    if (p.last) {
      e->log.progress_done();
      st.done = true;
      self->quit();
      return;
    }
  }
}

void evaluate(monitor_actor* self, const std::shared_ptr<monitor_env>& e,
              pending_record* p, model_state m, bool average) {
  p->evals_left += 1;
  const auto number = p->rec.round;
  m.version = number;
  eval_input in{std::move(m)};
  self->request(e->evaluator, caf::infinite, std::move(in))
    .then(
      [self, e, number, average](eval_output& r) {
        for (auto& q : self->state.queue)
          if (q.rec.round == number) {
            if (average) {
              q.rec.test_accuracy = r.accuracy;
              q.rec.test_loss = r.loss;
            } else {
              q.peer_acc.push_back(r.accuracy);
            }
            q.evals_left -= 1;
          }
        flush(self, e);
      },
      [self, e](caf::error& err) {
        e->log.node->error("evaluation failed: {}", describe(err));
        e->out->failed = true;
        self->quit(err);
      });
}

/// Turns one set of peer reports into a record (evaluated when due).
void record(monitor_actor* self, const std::shared_ptr<monitor_env>& e,
            uint64_t number, std::vector<peer_report> reps, bool last) {
  auto& st = self->state;
  st.records += 1;
  pending_record p;
  auto& r = p.rec;
  r.round = number;
  r.elapsed_seconds = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - st.start)
                        .count();
  r.peers = reps.size();
  p.last = last;
  uint64_t bytes = 0, models = 0, steps = 0;
  double mix = 0, step_sum = 0;
  std::vector<span<const float>> views;
  for (const auto& rep : reps) {
    auto& prev = st.sent[rep.index];
    bytes += rep.bytes_sent - prev.first;
    models += rep.models_sent - prev.second;
    prev = {rep.bytes_sent, rep.models_sent};
    auto& prev_step = st.steps[rep.index];
    steps += rep.step > prev_step ? rep.step - prev_step : 0;
    prev_step = rep.step;
    step_sum += static_cast<double>(rep.step);
    mix += rep.mix_distance;
    r.neighbors_missed += rep.neighbors_missed;
    r.late += rep.late;
    r.refused += rep.refused;
    r.max_staleness = std::max(r.max_staleness, rep.max_staleness_seen);
    views.emplace_back(rep.model.values);
  }
  const auto n = static_cast<double>(reps.size());
  r.mean_step = step_sum / n;
  r.mix_distance = mix / n;
  if (steps > 0) {
    r.bytes_sent_per_peer = static_cast<double>(bytes)
                            / static_cast<double>(steps);
    r.models_sent_per_peer = static_cast<double>(models)
                             / static_cast<double>(steps);
  }
  model_state average;
  if (reps.size() > 1) {
    auto c = gossip::consensus_of(views);
    r.consensus_distance = c.distance;
    auto mean = std::make_shared<const std::vector<float>>(std::move(c.mean));
    average.values = span<const float>{*mean};
    average.owner = std::move(mean);
  } else {
    average = reps.front().model;
  }
  st.queue.push_back(std::move(p));
  auto* q = &st.queue.back();
  const auto every = e->s.eval_every == 0 ? 1 : e->s.eval_every;
  if (last || st.records % every == 0) {
    evaluate(self, e, q, average, true);
    auto k = std::min<size_t>(e->s.eval_peers, reps.size());
    if (reps.size() == 1)
      k = 0; // its own model is the average
    for (size_t x = 0; x < k; ++x)
      evaluate(self, e, q, reps[x * reps.size() / k].model, false);
  }
  flush(self, e);
}

void on_sync_report(monitor_actor* self,
                    const std::shared_ptr<monitor_env>& e, peer_report& r) {
  auto& st = self->state;
  if (r.finished)
    st.finished.insert(r.index);
  auto& reps = st.rounds[r.step];
  reps.push_back(std::move(r));
  // A peer that caught up skips rounds; wait only for peers still running
  // or those that reported this round.
  while (!st.rounds.empty()) {
    auto it = st.rounds.begin();
    if (it->second.size() < e->s.peers)
      break;
    auto round = it->first;
    auto all = std::move(it->second);
    st.rounds.erase(it);
    const bool last = st.finished.size() == e->s.peers && st.rounds.empty();
    record(self, e, round, std::move(all), last);
  }
}

void take_snapshot(monitor_actor* self,
                   const std::shared_ptr<monitor_env>& e) {
  auto& st = self->state;
  if (st.snapshot_in_flight || st.done)
    return;
  st.snapshot_in_flight = true;
  auto got = std::make_shared<std::vector<peer_report>>();
  auto left = std::make_shared<size_t>(st.peers.size());
  auto number = st.records + 1;
  auto complete = [self, e, got, number] {
    auto& s = self->state;
    s.snapshot_in_flight = false;
    if (got->empty())
      return;
    std::sort(got->begin(), got->end(),
              [](const auto& a, const auto& b) { return a.index < b.index; });
    record(self, e, number, std::move(*got), s.final_snapshot);
  };
  for (const auto& p : st.peers)
    self->request(p, std::chrono::seconds(30), status_atom::value)
      .then(
        [got, left, complete](peer_report& r) {
          got->push_back(std::move(r));
          if (--*left == 0)
            complete();
        },
        [left, complete](caf::error&) {
          if (--*left == 0)
            complete();
        });
}

} // namespace

caf::actor spawn_gossip_monitor(caf::actor_system& sys,
                                gossip_monitor_settings s,
                                caf::actor evaluator,
                                std::shared_ptr<gossip_log> out,
                                loggers log) {
  auto e = std::make_shared<monitor_env>();
  e->s = std::move(s);
  e->evaluator = std::move(evaluator);
  e->out = std::move(out);
  e->log = std::move(log);
  return sys.spawn([e](monitor_actor* self) -> caf::behavior {
    self->state.start = std::chrono::steady_clock::now();
    auto sinks = open_run_sinks(e->s.metrics_path, "", false, e->s.manifest);
    if (!sinks) {
      e->log.node->error("{}", describe(sinks.error()));
      e->out->failed = true;
      self->quit(sinks.error());
      return {};
    }
    self->state.sinks = std::move(*sinks);
    self->set_down_handler([self, e](caf::down_msg& dm) {
      if (!dm.reason || self->state.done)
        return;
      e->log.node->error("a peer ended with an error: {}",
                         describe(dm.reason));
      e->out->failed = true;
      self->quit(dm.reason);
    });
    return {
      [self, e](start_atom, std::vector<caf::actor>& peers) {
        self->state.peers = std::move(peers);
        for (const auto& p : self->state.peers)
          self->monitor(p);
        if (e->s.asynchronous)
          self->delayed_send(self, to_timespan(e->s.snapshot_s),
                             tick_atom::value);
      },
      [self, e](peer_report& r) {
        if (!e->s.asynchronous) {
          on_sync_report(self, e, r);
          return;
        }
        auto& st = self->state;
        if (r.finished)
          st.finished.insert(r.index);
        if (st.finished.size() == e->s.peers && !st.final_snapshot) {
          st.final_snapshot = true;
          if (st.snapshot_in_flight) {
            // The final snapshot follows the one in flight.
            self->delayed_send(self, std::chrono::milliseconds(10),
                               tick_atom::value);
            return;
          }
          take_snapshot(self, e);
        }
      },
      [self, e](tick_atom) {
        auto& st = self->state;
        if (st.done)
          return;
        if (st.snapshot_in_flight && st.final_snapshot) {
          self->delayed_send(self, std::chrono::milliseconds(10),
                             tick_atom::value);
          return;
        }
        take_snapshot(self, e);
        if (!st.final_snapshot)
          self->delayed_send(self, to_timespan(e->s.snapshot_s),
                             tick_atom::value);
      },
    };
  });
}

} // namespace fl
