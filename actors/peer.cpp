#include "actors/peer.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/aggregation_actor.hpp"
#include "actors/interfaces.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/gossip/mixing.hpp"

namespace fl {

std::string peer_id(size_t index) {
  return "peer-" + std::to_string(index);
}

std::optional<size_t> peer_index(const std::string& id, size_t n) {
  const std::string prefix = "peer-";
  if (id.size() <= prefix.size() || id.compare(0, prefix.size(), prefix) != 0
      || id.size() > prefix.size() + 9)
    return std::nullopt;
  size_t x = 0;
  for (size_t k = prefix.size(); k < id.size(); ++k) {
    if (id[k] < '0' || id[k] > '9')
      return std::nullopt;
    x = x * 10 + static_cast<size_t>(id[k] - '0');
  }
  if (x >= n || peer_id(x) != id)
    return std::nullopt;
  return x;
}

namespace {

using model_ptr = std::shared_ptr<const std::vector<float>>;

/// A model this peer holds: a buffer of its own, or one of its aggregation
/// actor's versions (never written after it is made).
model_state owned(model_ptr v) {
  model_state m;
  m.values = span<const float>{*v};
  m.owner = std::move(v);
  return m;
}

/// A model that arrived from a neighbor (its frame or buffer stays alive).
struct received {
  span<const float> values;
  std::shared_ptr<const void> owner;
};

/// Rounds a sync peer keeps shares of ahead of its own (a neighbor may be
/// ahead by the graph's diameter at most, unless it stopped waiting for
/// us); shares further ahead are dropped, so a peer's memory stays bounded.
constexpr uint64_t max_rounds_ahead = 64;

/// Consecutive rounds a sync neighbor may miss before it is taken as gone.
constexpr int misses_until_gone = 2;

struct peer_state {
  uint64_t step = 0; ///< rounds or iterations started
  bool training = false;
  bool finished = false;
  bool started = false;
  model_state model; ///< sync: the model; async: the last estimate
  gossip::push_sum ps; ///< async
  /// Sync: shares by round and sender.
  std::map<uint64_t, std::map<uint32_t, received>> inbox;
  model_ptr trained; ///< sync: the round's trained model, until mixed
  bool mixing = false; ///< sync: the aggregation actor is averaging
  aggregation_actor agg; ///< sync: averages each round (guarded)
  std::set<uint32_t> gone;             ///< neighbors taken as gone
  std::map<uint32_t, int> misses;      ///< sync: consecutive misses
  std::map<uint32_t, uint64_t> heard;  ///< async: last iteration heard
  bool gate_waiting = false;           ///< async: at the staleness bound
  uint64_t gate_epoch = 0;
  /// Bumped when a sync peer jumps ahead to a neighbor's state: a fit
  /// started before belongs to an abandoned round.
  uint64_t generation = 0;
  std::map<uint32_t, uint64_t> state_sent; ///< sync: last round offered
  std::optional<fit_output> held;      ///< trained, held back (slowness)
  model_state held_start;
  uint64_t held_generation = 0;
  peer_report totals;
  static inline const char* name = "fl.peer";
};

using peer_actor = caf::stateful_actor<peer_state>;

struct peer_env {
  peer_settings s;
  peer_route route;
  caf::actor pool;
  caf::actor monitor;
  loggers log;
  std::string id;
};

tensor as_tensor(const peer_env& e, span<const float> values,
                 std::shared_ptr<const void> owner) {
  tensor t;
  t.kind = tensor_kind::params;
  t.layout = e.s.client.layout;
  t.values = values;
  t.owner = std::move(owner);
  return t;
}

void send_gossip(peer_actor* self, const peer_env& e, size_t to,
                 gossip_msg m) {
  auto& st = self->state;
  st.totals.bytes_sent += m.model.payload_bytes();
  st.totals.models_sent += 1;
  self->send(e.route(to), deliver_atom::value,
             envelope{peer_id(to), message{std::move(m)}});
}

peer_report report_of(peer_actor* self, const peer_env& e) {
  auto r = self->state.totals;
  r.index = e.s.index;
  // Steps completed: one in training (or held back) is not done yet.
  const auto& st = self->state;
  r.step = st.step - (st.step > 0 && (st.training || st.held) ? 1 : 0);
  r.finished = self->state.finished;
  r.model = self->state.model;
  return r;
}

void begin_step(peer_actor* self, const std::shared_ptr<peer_env>& e);

/// Rounds (iterations) done, whose result is `model`.
uint64_t completed(const peer_state& st) {
  return st.step - (st.finished || st.step == 0 ? 0 : 1);
}

/// Sends peer j this peer's model and completed rounds (to catch up).
void send_state(peer_actor* self, const std::shared_ptr<peer_env>& e,
                size_t j) {
  auto& st = self->state;
  gossip_msg m;
  m.node_id = e->id;
  m.step = completed(st);
  m.kind = gossip_kind::state;
  m.model = as_tensor(*e, st.model.values, st.model.owner);
  self->send(e->route(j), deliver_atom::value,
             envelope{peer_id(j), message{std::move(m)}});
}

void finish(peer_actor* self, const std::shared_ptr<peer_env>& e) {
  auto& st = self->state;
  st.finished = true;
  e->log.node->debug("{}: finished {} {}", e->id, st.step,
                     e->s.asynchronous ? "iterations" : "rounds");
  if (e->s.asynchronous)
    self->send(e->monitor, report_of(self, *e));
}

// -- both: the distance bound ---------------------------------------------------

/// Whether `theirs` (scaled by `scale`: 1 / push-sum weight) is too far
/// from `own` to be mixed in; logs and counts a refusal.
bool too_far(peer_actor* self, const peer_env& e, span<const float> own,
             span<const float> theirs, double scale, uint32_t from) {
  if (e.s.max_distance_ratio <= 0)
    return false;
  double norm = 0, dist = 0;
  for (size_t k = 0; k < own.size(); ++k) {
    const double a = own[k];
    const double d = theirs[k] * scale - a;
    norm += a * a;
    dist += d * d;
  }
  const double bound = e.s.max_distance_ratio * std::max(std::sqrt(norm), 1.0);
  if (std::sqrt(dist) <= bound)
    return false;
  self->state.totals.refused += 1;
  e.log.node->warn("{}: {}'s model is {:.3g} away from this peer's (bound "
                   "{:.3g}); refused", e.id, peer_id(from), std::sqrt(dist),
                   bound);
  return true;
}

// -- synchronous rounds ------------------------------------------------------

/// The aggregation actor's answer for `round`: its average (or, refused
/// by the guard, the trained model) becomes the peer's model; it moves on.
void finish_mix(peer_actor* self, const std::shared_ptr<peer_env>& e,
                uint64_t round, agg_outcome& out) {
  auto& st = self->state;
  st.mixing = false;
  if (round != st.step || !st.trained)
    return;
  if (!out.accepted)
    e->log.node->warn("{}: round {}'s average refused ({}); keeping its own "
                      "trained model", e->id, round, describe(out.reason));
  st.totals.mix_distance = gossip::l2_distance(*st.trained, out.model.values);
  st.model = std::move(out.model);
  st.trained.reset();
  st.inbox.erase(st.inbox.begin(), st.inbox.upper_bound(round));
  if (round >= e->s.rounds)
    st.finished = true;
  self->send(e->monitor, report_of(self, *e));
  if (!st.finished)
    begin_step(self, e);
}

/// Hands the round's trained model and the in-neighbors' models present to
/// the aggregation actor (weights of the topology's row, renormalised over
/// those present); finish_mix takes the answer.
void mix_round(peer_actor* self, const std::shared_ptr<peer_env>& e) {
  auto& st = self->state;
  const auto round = st.step;
  const auto& row = e->s.topo->row(e->s.index, round);
  std::vector<std::pair<uint32_t, double>> in;
  auto& got = st.inbox[round];
  for (const auto& edge : row.in) {
    auto i = got.find(edge.peer);
    if (i != got.end()) {
      st.misses[edge.peer] = 0;
      if (!too_far(self, *e, *st.trained, i->second.values, 1.0, edge.peer))
        in.emplace_back(edge.peer, edge.weight);
    } else if (st.gone.count(edge.peer) == 0) {
      st.totals.neighbors_missed += 1;
      if (++st.misses[edge.peer] >= misses_until_gone) {
        st.gone.insert(edge.peer);
        e->log.node->warn("{}: {} sent nothing for {} rounds; averaging "
                          "without it until it is back",
                          e->id, peer_id(edge.peer), misses_until_gone);
      } else {
        e->log.node->info("{}: round {} mixed without {} (not in time)",
                          e->id, round, peer_id(edge.peer));
      }
    }
  }
  double budget = row.self_weight;
  for (const auto& x : in)
    budget += x.second;
  st.mixing = true;
  self->send(st.agg, agg_reset_atom::value,
             model_state{round, span<const float>{*st.trained}, st.trained});
  self->send(st.agg, agg_begin_atom::value, sum_kind::params, budget);
  auto fold = [self, e](const std::string& who, span<const float> values,
                        std::shared_ptr<const void> owner, double weight) {
    agg_update u;
    u.node_id = who;
    u.kind = tensor_kind::params;
    u.values = values;
    u.owner = std::move(owner);
    u.weight = weight;
    self->request(self->state.agg, caf::infinite, agg_fold_atom::value,
                  std::move(u))
      .then([](fold_receipt&) {},
            [self, e, who](caf::error& err) {
              self->state.totals.refused += 1;
              e->log.node->warn("{}: {}'s model refused by the guard: {}",
                                e->id, who, describe(err));
            });
  };
  if (row.self_weight > 0)
    fold(e->id, *st.trained, st.trained, row.self_weight);
  for (const auto& [j, w] : in)
    fold(peer_id(j), got[j].values, got[j].owner, w);
  self->request(st.agg, caf::infinite, agg_final_atom::value, 1.0)
    .then([self, e, round](agg_outcome& out) {
            finish_mix(self, e, round, out);
          },
          [self, e](caf::error& err) {
            e->log.node->error("{}: averaging failed: {}", e->id,
                               describe(err));
            self->quit(err);
          });
}

/// Whether every in-neighbor of the round that is not gone has sent.
bool round_complete(peer_actor* self, const std::shared_ptr<peer_env>& e) {
  auto& st = self->state;
  const auto& row = e->s.topo->row(e->s.index, st.step);
  auto it = st.inbox.find(st.step);
  for (const auto& edge : row.in)
    if (st.gone.count(edge.peer) == 0
        && (it == st.inbox.end() || it->second.count(edge.peer) == 0))
      return false;
  return true;
}

void try_mix(peer_actor* self, const std::shared_ptr<peer_env>& e) {
  if (self->state.trained && !self->state.mixing && round_complete(self, e))
    mix_round(self, e);
}

/// Sync: the round's model is trained; send it to the round's
/// out-neighbors, then wait for the in-neighbors (bounded by a deadline).
void trained_round(peer_actor* self, const std::shared_ptr<peer_env>& e,
                   model_ptr trained) {
  auto& st = self->state;
  st.trained = std::move(trained);
  for (const auto& edge : e->s.topo->out(e->s.index, st.step)) {
    if (st.gone.count(edge.peer) != 0)
      continue;
    gossip_msg m;
    m.node_id = e->id;
    m.step = st.step;
    m.weight = 1;
    m.model = as_tensor(*e, *st.trained, st.trained);
    send_gossip(self, *e, edge.peer, std::move(m));
  }
  self->delayed_send(self, to_timespan(e->s.neighbor_timeout_s),
                     deadline_atom::value, st.step);
  try_mix(self, e);
}

void on_sync_share(peer_actor* self, const std::shared_ptr<peer_env>& e,
                   uint32_t from, gossip_msg& m) {
  auto& st = self->state;
  // A round this peer has mixed already (begin_step moves to the next
  // round as soon as it mixed, unless it finished).
  if (m.step < st.step || (m.step == st.step && (st.finished || st.mixing))) {
    st.totals.late += 1;
    // The sender is behind (it was averaged out, or restarted): offer it
    // this peer's model once per round, so it can jump ahead.
    if (st.state_sent[from] != st.step) {
      st.state_sent[from] = st.step;
      send_state(self, e, from);
    }
    e->log.node->debug("{}: share of round {} from {} came late", e->id,
                       m.step, m.node_id);
    return;
  }
  if (m.step == 0 || m.step > st.step + max_rounds_ahead) {
    st.totals.late += 1;
    e->log.node->warn("{}: share of round {} from {} dropped (this peer is "
                      "at round {})", e->id, m.step, m.node_id, st.step);
    return;
  }
  const auto& row = e->s.topo->row(e->s.index, m.step);
  bool expected = false;
  for (const auto& edge : row.in)
    expected |= edge.peer == from;
  if (!expected) {
    e->log.node->warn("{}: {} is not an in-neighbor in round {}; its share "
                      "is dropped", e->id, m.node_id, m.step);
    return;
  }
  auto& slot = st.inbox[m.step];
  if (slot.count(from) != 0) {
    e->log.node->warn("{}: a second share of round {} from {} dropped",
                      e->id, m.step, m.node_id);
    return;
  }
  slot.emplace(from, received{m.model.values, m.model.owner});
  if (m.step == st.step)
    try_mix(self, e);
}

// -- asynchronous push-sum ---------------------------------------------------

/// The peer's model becomes its push-sum estimate x / w now.
void refresh_estimate(peer_state& st) {
  st.model = owned(std::make_shared<const std::vector<float>>(
    st.ps.estimate()));
}

/// In-neighbors (over the period) that are live and too far behind.
std::vector<uint32_t> blocking(peer_actor* self,
                               const std::shared_ptr<peer_env>& e) {
  auto& st = self->state;
  std::vector<uint32_t> xs;
  for (auto j : e->s.topo->in_neighbors(e->s.index)) {
    if (st.gone.count(j) != 0)
      continue;
    auto h = st.heard.count(j) != 0 ? st.heard[j] : 0;
    if (st.step > h + e->s.max_staleness)
      xs.push_back(j);
  }
  return xs;
}

void trained_iteration(peer_actor* self, const std::shared_ptr<peer_env>& e,
                       const model_state& start,
                       const std::vector<float>& z) {
  auto& st = self->state;
  st.ps.apply_change(start.values, z);
  std::vector<uint32_t> to;
  for (const auto& edge : e->s.topo->out(e->s.index, st.step))
    if (st.gone.count(edge.peer) == 0)
      to.push_back(edge.peer);
  const double f = 1.0 / static_cast<double>(to.size() + 1);
  auto shares = st.ps.split(f, std::vector<double>(to.size(), f));
  for (size_t k = 0; k < to.size(); ++k) {
    auto values = std::make_shared<std::vector<float>>(
      std::move(shares[k].first));
    gossip_msg m;
    m.node_id = e->id;
    m.step = st.step;
    m.weight = shares[k].second;
    m.model = as_tensor(*e, *values, values);
    send_gossip(self, *e, to[k], std::move(m));
  }
  refresh_estimate(st);
  if (st.step >= e->s.rounds)
    finish(self, e);
  else
    begin_step(self, e);
}

void on_async_share(peer_actor* self, const std::shared_ptr<peer_env>& e,
                    uint32_t from, gossip_msg& m) {
  auto& st = self->state;
  bool in_neighbor = false;
  for (auto j : e->s.topo->in_neighbors(e->s.index))
    in_neighbor |= j == from;
  if (!in_neighbor) {
    e->log.node->warn("{}: {} is not an in-neighbor; its share is dropped",
                      e->id, m.node_id);
    return;
  }
  // Mass is never refused for being old: x and w arrive together, so an
  // old share only weighs what it carried. Its model is x / w.
  if (too_far(self, *e, st.model.values, m.model.values, 1.0 / m.weight,
              from))
    return;
  st.ps.absorb(m.model.values, m.weight);
  st.heard[from] = std::max(st.heard[from], m.step);
  if (st.step > m.step)
    st.totals.max_staleness_seen = std::max(st.totals.max_staleness_seen,
                                            st.step - m.step);
  if (!st.training)
    refresh_estimate(st);
  if (st.gate_waiting && blocking(self, e).empty()) {
    st.gate_waiting = false;
    begin_step(self, e);
  }
}

// -- both --------------------------------------------------------------------

void fit_done(peer_actor* self, const std::shared_ptr<peer_env>& e,
              const model_state& start, fit_output& out) {
  auto& st = self->state;
  st.training = false;
  st.totals.train = out.metrics;
  model_ptr trained = std::move(out.params);
  if (e->s.asynchronous)
    trained_iteration(self, e, start, *trained);
  else
    trained_round(self, e, std::move(trained));
}

void begin_step(peer_actor* self, const std::shared_ptr<peer_env>& e) {
  auto& st = self->state;
  if (e->s.asynchronous) {
    if (!blocking(self, e).empty()) {
      st.gate_waiting = true;
      self->delayed_send(self, to_timespan(e->s.neighbor_timeout_s),
                         tick_atom::value, ++st.gate_epoch);
      return;
    }
    refresh_estimate(st);
  }
  st.step += 1;
  st.training = true;
  model_state start = st.model;
  fit_input in;
  in.global = start.values;
  in.global_owner = start.owner;
  in.samples = e->s.client.samples;
  in.seed = e->s.client.seed * 1000003u + st.step;
  in.config = e->s.client.fit;
  const auto generation = st.generation;
  self->request(e->pool, caf::infinite, std::move(in))
    .then(
      [self, e, start, generation](fit_output& out) {
        if (generation != self->state.generation) {
          // Its round was abandoned for a neighbor's newer model.
          self->state.training = false;
          if (!self->state.finished)
            begin_step(self, e);
          return;
        }
        auto slowdown = e->s.client.slowdown;
        if (slowdown > 1) {
          // Simulated slowness: the result counts only after
          // (slowdown - 1) x the training time more.
          self->state.held = std::move(out);
          self->state.held_start = start;
          self->state.held_generation = generation;
          self->delayed_send(
            self,
            to_timespan(self->state.held->metrics.train_seconds
                        * (slowdown - 1)),
            done_atom::value);
          return;
        }
        fit_done(self, e, start, out);
      },
      [self, e](caf::error& err) {
        e->log.node->error("{}: training failed: {}", e->id, describe(err));
        self->quit(err);
      });
}

void start(peer_actor* self, const std::shared_ptr<peer_env>& e) {
  auto& st = self->state;
  if (st.started)
    return;
  st.started = true;
  begin_step(self, e);
}

/// Rejoin: ask every neighbor for its model; the first answer counts (a
/// later, newer one lets a sync peer jump ahead again).
void ask_for_state(peer_actor* self, const std::shared_ptr<peer_env>& e) {
  auto all = e->s.topo->out_neighbors(e->s.index);
  for (auto j : e->s.topo->in_neighbors(e->s.index))
    if (std::find(all.begin(), all.end(), j) == all.end())
      all.push_back(j);
  if (all.empty()) {
    start(self, e);
    return;
  }
  e->log.node->info("{}: asking {} neighbor(s) for the current model", e->id,
                    all.size());
  for (auto j : all)
    self->send(e->route(j), deliver_atom::value,
               envelope{peer_id(j), message{request_msg{e->id}}});
  self->delayed_send(self, to_timespan(e->s.catch_up_timeout_s),
                     retry_atom::value);
}

/// Sync: a neighbor has completed the round this peer is working on (or a
/// later one): take its model and continue after that round.
void jump_ahead(peer_actor* self, const std::shared_ptr<peer_env>& e,
                gossip_msg& m) {
  auto& st = self->state;
  if (e->s.asynchronous || st.finished || st.mixing || m.step < st.step)
    return;
  auto ins = e->s.topo->in_neighbors(e->s.index);
  auto outs = e->s.topo->out_neighbors(e->s.index);
  auto from = peer_index(m.node_id, e->s.topo->size());
  if (std::find(ins.begin(), ins.end(), *from) == ins.end()
      && std::find(outs.begin(), outs.end(), *from) == outs.end())
    return;
  e->log.node->info("{}: behind; continuing from {}'s model of round {} "
                    "(was at round {})", e->id, m.node_id, m.step, st.step);
  st.model = owned(std::make_shared<std::vector<float>>(
    m.model.values.begin(), m.model.values.end()));
  st.step = m.step;
  st.trained.reset();
  st.inbox.erase(st.inbox.begin(), st.inbox.upper_bound(m.step));
  st.generation += 1;
  if (st.step >= e->s.rounds) {
    st.finished = true;
    self->send(e->monitor, report_of(self, *e));
    return;
  }
  if (!st.training && !st.held)
    begin_step(self, e);
  // else: the running fit is discarded when it returns, which then begins
  // the next round.
}

void on_state(peer_actor* self, const std::shared_ptr<peer_env>& e,
              gossip_msg& m) {
  auto& st = self->state;
  if (st.started) {
    jump_ahead(self, e, m);
    return;
  }
  if (!e->s.catch_up)
    return;
  auto values = std::make_shared<std::vector<float>>(m.model.values.begin(),
                                                     m.model.values.end());
  st.step = m.step;
  st.model = owned(values);
  if (e->s.asynchronous) {
    st.ps = gossip::push_sum{*values};
    for (auto j : e->s.topo->in_neighbors(e->s.index))
      st.heard[j] = m.step;
  }
  e->log.node->info("{}: caught up from {} at {} {}", e->id, m.node_id,
                    e->s.asynchronous ? "iteration" : "round", m.step);
  if (st.step >= e->s.rounds) {
    st.started = true;
    finish(self, e);
    self->send(e->monitor, report_of(self, *e));
    return;
  }
  start(self, e);
}

} // namespace

caf::actor spawn_peer(caf::actor_system& sys, peer_settings s,
                      peer_route route, caf::actor pool, caf::actor monitor,
                      loggers log) {
  auto e = std::make_shared<peer_env>();
  e->id = peer_id(s.index);
  e->s = std::move(s);
  e->route = std::move(route);
  e->pool = std::move(pool);
  e->monitor = std::move(monitor);
  e->log = std::move(log);
  return sys.spawn([e](peer_actor* self) -> caf::behavior {
    self->state.model = owned(e->s.initial);
    if (e->s.asynchronous) {
      self->state.ps = gossip::push_sum{*e->s.initial};
    } else {
      aggregation_settings as;
      as.guard = e->s.guard;
      as.detached = e->s.detached_aggregation;
      self->state.agg = spawn_aggregation_actor(
        self->system(), e->s.client.layout, make_cpu_aggregator(1),
        std::move(as), e->log);
      self->link_to(self->state.agg);
    }
    const auto n = e->s.topo->size();
    const auto numel = e->s.initial->size();
    return {
      [self, e](start_atom) {
        if (e->s.catch_up)
          ask_for_state(self, e);
        else
          start(self, e);
      },
      [self, e](retry_atom) {
        // No neighbor answered: start from the initial model.
        if (!self->state.started) {
          e->log.node->warn("{}: no neighbor answered; starting from the "
                            "initial model", e->id);
          start(self, e);
        }
      },
      [self, e, n, numel](deliver_atom, envelope& env) {
        auto& st = self->state;
        if (auto* r = std::get_if<request_msg>(&env.body)) {
          auto from = peer_index(r->node_id, n);
          if (!from)
            return;
          send_state(self, e, *from);
          return;
        }
        auto* m = std::get_if<gossip_msg>(&env.body);
        if (m == nullptr) {
          e->log.node->debug("{}: {} ignored", e->id,
                             message_name(env.body));
          return;
        }
        auto from = peer_index(m->node_id, n);
        if (!from || *from == e->s.index) {
          e->log.node->warn("{}: gossip from unknown peer '{}' dropped",
                            e->id, m->node_id);
          return;
        }
        if (m->model.layout.hash() != e->s.client.layout.hash()) {
          e->log.node->warn("{}: share from {} is of another model (layout "
                            "{:x}, not {:x}); dropped", e->id, m->node_id,
                            m->model.layout.hash(),
                            e->s.client.layout.hash());
          return;
        }
        if (m->model.values.size() != numel) {
          e->log.node->warn("{}: share from {} has {} values, not {}; "
                            "dropped", e->id, m->node_id,
                            m->model.values.size(), numel);
          return;
        }
        // Push-sum weights start at 1 per peer and only split: a share
        // heavier than all peers together is forged.
        if (m->weight > static_cast<double>(n)) {
          e->log.node->warn("{}: share from {} claims weight {} (more than "
                            "{} peers hold); dropped", e->id, m->node_id,
                            m->weight, n);
          return;
        }
        if (m->kind == gossip_kind::state) {
          on_state(self, e, *m);
          return;
        }
        auto j = static_cast<uint32_t>(*from);
        if (st.gone.erase(j) != 0) {
          st.misses[j] = 0;
          e->log.node->info("{}: {} is back", e->id, m->node_id);
        }
        if (e->s.asynchronous)
          on_async_share(self, e, j, *m);
        else
          on_sync_share(self, e, j, *m);
      },
      [self, e, n](lost_atom, const std::string& id, const caf::error& why) {
        auto j = peer_index(id, n);
        if (!j || !self->state.gone.insert(static_cast<uint32_t>(*j)).second)
          return;
        if (self->state.finished) {
          // Neighbors leave as they finish: nothing to average any more.
          e->log.node->debug("{}: {} left", e->id, id);
          return;
        }
        e->log.node->warn("{}: lost {} ({}); averaging without it", e->id,
                          id, describe(why));
        if (e->s.asynchronous) {
          if (self->state.gate_waiting && blocking(self, e).empty()) {
            self->state.gate_waiting = false;
            begin_step(self, e);
          }
        } else {
          try_mix(self, e);
        }
      },
      [self, e](deadline_atom, uint64_t round) {
        // The round's in-neighbors had their time: mix what is there.
        if (!e->s.asynchronous && self->state.step == round
            && self->state.trained && !self->state.mixing)
          mix_round(self, e);
      },
      [self, e](tick_atom, uint64_t epoch) {
        auto& st = self->state;
        if (!st.gate_waiting || epoch != st.gate_epoch)
          return;
        for (auto j : blocking(self, e)) {
          st.gone.insert(j);
          e->log.node->warn("{}: {} is more than {} iterations behind and "
                            "silent for {} s; going on without it", e->id,
                            peer_id(j), e->s.max_staleness,
                            e->s.neighbor_timeout_s);
        }
        st.gate_waiting = false;
        begin_step(self, e);
      },
      [self, e](done_atom) {
        auto& st = self->state;
        if (!st.held)
          return;
        auto out = std::move(*st.held);
        st.held.reset();
        if (st.held_generation != st.generation) {
          st.training = false;
          if (!st.finished)
            begin_step(self, e);
          return;
        }
        fit_done(self, e, st.held_start, out);
      },
      [self, e](status_atom) { return report_of(self, *e); },
      [self](stop_atom) { self->quit(); },
    };
  });
}

} // namespace fl
