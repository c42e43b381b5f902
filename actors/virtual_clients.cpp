#include "actors/virtual_clients.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/atoms.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

namespace {

using join_next_atom = caf::atom_constant<caf::atom("fl_vjoin")>;
using wake_atom = caf::atom_constant<caf::atom("fl_vwake")>;

/// One hosted client between its tasks: 24 bytes plus its compressor.
struct virtual_client {
  caf::actor live;                 ///< its actor while it has a task
  std::shared_ptr<compressor> comp; ///< kept between fits (error feedback)
  uint32_t pending = 0;            ///< tasks given and not yet answered
  bool gone = false;               ///< got its Exit, or its join was refused
};

/// A client waiting for its online window (async modes).
using wakeup = std::pair<double, uint64_t>;

struct host_state {
  std::vector<virtual_client> clients;
  uint64_t next_join = 0; ///< offset of the next client to join
  uint64_t welcomed = 0;
  uint64_t gone = 0;
  uint64_t live = 0;
  caf::error refused; ///< the last join refusal
  federation_mode mode = federation_mode::sync;
  std::unordered_map<caf::actor_addr, uint64_t> live_index;
  std::priority_queue<wakeup, std::vector<wakeup>, std::greater<wakeup>>
    wakeups;
  double armed_for = -1; ///< when the pending wake_atom fires (-1 = none)
  static inline const char* name = "fl.virtual_clients";
};

using host_actor = caf::stateful_actor<host_state>;

struct host_context {
  virtual_clients_settings cfg;
  caf::actor upstream;
  caf::actor pool;
  loggers log;
  std::shared_ptr<virtual_clients_stats> stats;

  double now() const { return cfg.profiles ? cfg.profiles->now() : 0; }
  bool online(uint64_t index) const {
    return !cfg.profiles || cfg.profiles->online(index, now());
  }
};

using context_ptr = std::shared_ptr<const host_context>;

void send_up(host_actor* self, const host_context& cx, message body) {
  self->send(cx.upstream, deliver_atom::value, envelope{"", std::move(body)});
}

/// The offset of hosted client `id`, or none.
std::optional<uint64_t> offset_of(const host_context& cx,
                                  const std::string& id) {
  auto index = client_index(id);
  if (!index || *index < cx.cfg.first || *index - cx.cfg.first >= cx.cfg.count)
    return std::nullopt;
  return *index - cx.cfg.first;
}

void send_joins(host_actor* self, const host_context& cx) {
  auto& st = self->state;
  const auto end = std::min(cx.cfg.count, st.next_join + cx.cfg.join_batch);
  for (; st.next_join < end; ++st.next_join) {
    const auto index = cx.cfg.first + st.next_join;
    send_up(self, cx,
            client_join(client_id(index), cx.cfg.num_samples(index),
                        cx.cfg.layout));
  }
  if (st.next_join < cx.cfg.count)
    self->send(self, join_next_atom::value);
}

void arm_wakeup(host_actor* self, const host_context& cx) {
  auto& st = self->state;
  if (st.wakeups.empty())
    return;
  const double at = st.wakeups.top().first;
  if (st.armed_for >= 0 && st.armed_for <= at)
    return;
  st.armed_for = at;
  const double wall = std::max(0.0, (at - cx.now())
                                      / cx.cfg.profiles->settings().time_scale);
  self->delayed_send(self, to_timespan(wall), wake_atom::value);
}

/// An async client asks for a model now if it is online, else when its
/// next online window begins (never, if it has none left).
void request_when_online(host_actor* self, const host_context& cx,
                         uint64_t offset) {
  auto& st = self->state;
  if (st.clients[offset].gone)
    return;
  const auto index = cx.cfg.first + offset;
  if (!cx.cfg.profiles) {
    send_up(self, cx, request_msg{client_id(index)});
    return;
  }
  const double t = cx.now();
  auto next = cx.cfg.profiles->next_online(index, t);
  if (!next)
    return; // offline for good
  if (*next <= t) {
    send_up(self, cx, request_msg{client_id(index)});
    return;
  }
  st.wakeups.emplace(*next, offset);
  arm_wakeup(self, cx);
}

void on_wake(host_actor* self, const host_context& cx) {
  auto& st = self->state;
  st.armed_for = -1;
  const double t = cx.now();
  std::vector<uint64_t> due;
  while (!st.wakeups.empty() && st.wakeups.top().first <= t) {
    due.push_back(st.wakeups.top().second);
    st.wakeups.pop();
  }
  for (auto offset : due)
    request_when_online(self, cx, offset);
  arm_wakeup(self, cx);
}

/// Ends the task actor of `offset` (it has nothing left to answer).
void retire(host_actor* self, uint64_t offset) {
  auto& st = self->state;
  auto& c = st.clients[offset];
  if (!c.live)
    return;
  st.live_index.erase(c.live.address());
  self->send_exit(c.live, caf::exit_reason::user_shutdown);
  c.live = nullptr;
  --st.live;
}

void maybe_quit(host_actor* self, const host_context& cx) {
  auto& st = self->state;
  if (st.gone < cx.cfg.count)
    return;
  cx.log.node->debug("all {} virtual clients done ({} task actors started)",
                     cx.cfg.count, cx.stats ? cx.stats->spawned : 0);
  self->quit(st.refused);
}

/// Hands `body` (an Activation, Model or Evaluate) to client `offset`,
/// starting its actor if it has none.
void give_task(host_actor* self, const host_context& cx, uint64_t offset,
               message body) {
  auto& st = self->state;
  auto& c = st.clients[offset];
  const auto index = cx.cfg.first + offset;
  if (!c.live) {
    auto s = cx.cfg.settings(index);
    if (cx.cfg.profiles)
      s.slowdown = std::max(1.0, cx.cfg.profiles->speed(index));
    if (!c.comp)
      c.comp = make_client_compressor(s);
    s.comp = c.comp;
    s.welcomed_in = st.mode;
    c.live = spawn_client(self->home_system(), std::move(s), self, cx.pool,
                          cx.log);
    self->monitor(c.live);
    st.live_index.emplace(c.live.address(), offset);
    ++st.live;
    if (cx.stats) {
      ++cx.stats->spawned;
      cx.stats->live_peak = std::max<uint64_t>(cx.stats->live_peak, st.live);
    }
  }
  ++c.pending;
  self->send(c.live, deliver_atom::value,
             envelope{client_id(index), std::move(body)});
}

/// A message from upstream for the hosted client `offset`.
void to_client(host_actor* self, const host_context& cx, uint64_t offset,
               const message& body) {
  auto& st = self->state;
  auto& c = st.clients[offset];
  if (c.gone)
    return;
  if (auto* w = std::get_if<welcome_msg>(&body)) {
    st.mode = w->mode;
    if (++st.welcomed == cx.cfg.count)
      cx.log.node->info("{} virtual clients joined {} ({})", cx.cfg.count,
                        w->server_id, to_string(w->mode));
    if (w->mode != federation_mode::sync)
      request_when_online(self, cx, offset);
  } else if (std::holds_alternative<activation_msg>(body)
             || std::holds_alternative<model_msg>(body)) {
    const auto index = cx.cfg.first + offset;
    if (cx.online(index)) {
      give_task(self, cx, offset, body);
      return;
    }
    // Sampled while offline (a server that does not know the profiles, or
    // a window that closed on the way): the task fails at once, untrained;
    // an async client asks again when it is back.
    const auto id = client_id(index);
    const auto* act = std::get_if<activation_msg>(&body);
    if (cx.stats)
      ++cx.stats->dropped;
    send_up(self, cx,
            error_msg{static_cast<uint16_t>(errc::peer_lost),
                      id + " is offline", id, act ? act->round : 0});
    if (!act)
      request_when_online(self, cx, offset);
  } else if (std::holds_alternative<evaluate_msg>(body)) {
    give_task(self, cx, offset, body);
  } else if (std::holds_alternative<exit_msg>(body)) {
    if (c.live)
      self->send(c.live, deliver_atom::value,
                 envelope{client_id(cx.cfg.first + offset), body});
    c.gone = true;
    ++st.gone;
  } else if (auto* e = std::get_if<error_msg>(&body)) {
    cx.log.node->error("client {}: upstream refused: {}",
                       cx.cfg.first + offset, e->message);
    st.refused = join_refusal(*e);
    retire(self, offset);
    c.gone = true;
    ++st.gone;
  } else {
    cx.log.node->warn("virtual client {}: unexpected {} ignored",
                      cx.cfg.first + offset, message_name(body));
  }
}

/// The node id a client's own message names.
const std::string* sender_id(const message& body) {
  if (auto* u = std::get_if<update_msg>(&body))
    return &u->node_id;
  if (auto* e = std::get_if<error_msg>(&body))
    return &e->node_id;
  if (auto* r = std::get_if<eval_result_msg>(&body))
    return &r->node_id;
  if (auto* q = std::get_if<request_msg>(&body))
    return &q->node_id;
  return nullptr;
}

/// A message from a hosted client's actor: forwarded upstream; an answer
/// closes one of its tasks, and its actor ends with its last one.
void from_client(host_actor* self, const host_context& cx, message& body) {
  auto& st = self->state;
  auto* id = sender_id(body);
  auto offset = id ? offset_of(cx, *id) : std::nullopt;
  if (!offset) {
    cx.log.node->warn("virtual clients: {} from an unknown client ignored",
                      message_name(body));
    return;
  }
  auto& c = st.clients[*offset];
  const auto index = cx.cfg.first + *offset;
  if (std::holds_alternative<request_msg>(body)) {
    // Sent after an update or a failure, possibly by an actor already
    // retired: ask again once online.
    request_when_online(self, cx, *offset);
    return;
  }
  if (auto* up = std::get_if<update_msg>(&body); up && !cx.online(index)) {
    // Offline before its update left: the update is lost, the round learns
    // at once that this client dropped out.
    if (cx.stats)
      ++cx.stats->dropped;
    cx.log.node->debug("{} went offline before its update was sent", *id);
    body = error_msg{static_cast<uint16_t>(errc::peer_lost),
                     *id + " went offline before its update was sent", *id,
                     up->round};
  }
  send_up(self, cx, std::move(body));
  if (c.pending > 0 && --c.pending == 0)
    retire(self, *offset);
}

/// A task actor ended on its own (not retired): its open tasks failed.
void on_client_down(host_actor* self, const host_context& cx,
                    const caf::down_msg& dm) {
  auto& st = self->state;
  auto i = st.live_index.find(dm.source);
  if (i == st.live_index.end())
    return;
  const auto offset = i->second;
  st.live_index.erase(i);
  auto& c = st.clients[offset];
  c.live = nullptr;
  --st.live;
  if (c.pending == 0 || c.gone)
    return;
  c.pending = 0;
  const auto id = client_id(cx.cfg.first + offset);
  send_up(self, cx,
          error_msg{static_cast<uint16_t>(errc::training_failed),
                    id + ": client actor ended: " + describe(dm.reason), id,
                    0});
}

caf::behavior host_behavior(host_actor* self, context_ptr cx) {
  self->state.clients.resize(cx->cfg.count);
  self->set_down_handler(
    [self, cx](caf::down_msg& dm) { on_client_down(self, *cx, dm); });
  if (cx->cfg.count == 0) {
    self->quit();
    return {};
  }
  send_joins(self, *cx);
  return {
    [self, cx](join_next_atom) { send_joins(self, *cx); },
    [self, cx](wake_atom) { on_wake(self, *cx); },
    [self, cx](deliver_atom, envelope& env) {
      if (self->current_sender() != cx->upstream.address()) {
        from_client(self, *cx, env.body);
        return;
      }
      auto deliver = [&](const std::string& id) {
        if (auto offset = offset_of(*cx, id))
          to_client(self, *cx, *offset, env.body);
        else
          cx->log.wire->warn("virtual clients: {} for unknown client '{}' "
                             "ignored",
                             message_name(env.body), id);
      };
      deliver(env.target);
      for (const auto& id : env.more_targets)
        deliver(id);
      maybe_quit(self, *cx);
    },
    [self, cx](lost_atom, const std::string&, const caf::error& err) {
      cx->log.node->error("virtual clients: upstream lost: {}",
                          describe(err));
      self->quit(err);
    },
  };
}

} // namespace

caf::actor spawn_virtual_clients(caf::actor_system& sys,
                                 virtual_clients_settings s,
                                 caf::actor upstream, caf::actor pool,
                                 loggers log,
                                 std::shared_ptr<virtual_clients_stats> stats) {
  auto cx = std::make_shared<host_context>(
    host_context{std::move(s), std::move(upstream), std::move(pool),
                 std::move(log), std::move(stats)});
  return sys.spawn(host_behavior, std::move(cx));
}

} // namespace fl
