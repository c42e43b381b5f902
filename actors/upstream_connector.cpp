#include "actors/upstream_connector.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/bulk_events.hpp"
#include "actors/bulk_wiring.hpp"
#include "actors/interfaces.hpp"
#include "runtime/core/actor_system.hpp"
#include "messages/chunking.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/net/bulk_link.hpp"

namespace fl {

namespace {

struct upstream_state {
  caf::actor remote;                         ///< invalid while disconnected
  frame_assembler assembler;
  std::unique_ptr<outbox> out;               ///< per connection
  std::shared_ptr<net::bulk_link> link;      ///< per connection, once up
  /// Where models from upstream are written: unbounded (one server sends
  /// one model at a time), reusing the last model's buffer.
  std::shared_ptr<receive_budget> buffers
    = std::make_shared<receive_budget>(0, nullptr, 1);
  /// A bulk link is being dialed: messages wait in `queue` meanwhile, so
  /// the first big model already takes the link.
  bool dialing = false;
  std::map<std::string, caf::actor> locals;  ///< node id -> local actor
  std::map<std::string, envelope> joins;     ///< replayed after reconnects
  std::vector<envelope> queue;               ///< waiting for a connection
  int failures = 0;
  /// When the current run of failed attempts began, and when it was last
  /// reported at the default level (warn).
  std::chrono::steady_clock::time_point failing_since, last_report;
  bool reported = false; ///< this run of failures was warned about
  bool connecting = false;
  static inline const char* name = "fl.upstream";
};

using upstream_actor = caf::stateful_actor<upstream_state>;

double seconds_between(std::chrono::steady_clock::time_point a,
                       std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// Sends what the outbox lets go now.
void flush(upstream_actor* self) {
  auto& st = self->state;
  for (auto& f : st.out->take())
    self->send(st.remote, frame_atom::value, wire_frame{std::move(f)});
}

void send_now(upstream_actor* self, const loggers& log, envelope env) {
  if (auto err = self->state.out->push(std::move(env))) {
    log.wire->error("cannot send upstream: {}", describe(err));
    return;
  }
  flush(self);
}

void give_up(upstream_actor* self, const caf::error& why) {
  for (const auto& kv : self->state.locals)
    self->send(kv.second, lost_atom::value, std::string{"upstream"}, why);
  self->quit(why);
}

void connect(upstream_actor* self, const upstream_settings& s,
             const loggers& log) {
  auto& st = self->state;
  if (st.connecting || st.remote)
    return;
  st.connecting = true;
  auto mm = s.dialer ? s.dialer
                     : caf::actor_cast<caf::actor>(
                       self->home_system().middleman().actor_handle());
  self
    ->request(mm, to_timespan(s.connect_timeout_s), caf::connect_atom::value, s.host,
              s.port)
    .then(
      [self, s, log](const caf::node_id&, caf::strong_actor_ptr& ptr,
                     const std::set<std::string>&) {
        auto& state = self->state;
        state.connecting = false;
        if (!ptr) {
          log.wire->warn("{}:{} has no published actor", s.host, s.port);
          state.failures = s.max_attempts; // not a transient problem
          give_up(self, make_fl_error(errc::peer_lost,
                                      "nothing published at " + s.host + ":"
                                        + std::to_string(s.port)));
          return;
        }
        state.remote = caf::actor_cast<caf::actor>(std::move(ptr));
        self->monitor(state.remote);
        if (state.failures > 0 || !state.joins.empty())
          log.wire->info("connected to {}:{}", s.host, s.port);
        state.failures = 0;
        state.assembler = frame_assembler{s.limits, state.buffers};
        state.out = std::make_unique<outbox>(s.send);
        state.dialing = false;
        // After a reconnect, every local node joins again firstate.
        std::set<std::string> rejoined;
        for (const auto& kv : state.joins) {
          send_now(self, log, kv.second);
          rejoined.insert(kv.first);
        }
        auto queued = std::move(state.queue);
        state.queue.clear();
        for (const auto& env : queued) {
          auto* j = std::get_if<join_msg>(&env.body);
          if (j && rejoined.count(j->node_id))
            continue;
          send_now(self, log, env);
        }
      },
      [self, s, log](caf::error& err) {
        auto& state = self->state;
        state.connecting = false;
        ++state.failures;
        auto addr = s.host + ":" + std::to_string(s.port);
        if (auto refused = s.gate ? s.gate->refused_by(addr) : std::nullopt) {
          log.wire->error("{} {}", addr, net::to_string(*refused));
          give_up(self, make_fl_error(errc::unauthorized,
                                      addr + " " + net::to_string(*refused)));
          return;
        }
        if (state.failures >= s.max_attempts) {
          log.wire->error("cannot reach {}:{} after {} attempts in {:.0f} s: "
                          "{}",
                          s.host, s.port, state.failures,
                          seconds_between(state.failing_since,
                                          std::chrono::steady_clock::now()),
                          describe(err));
          give_up(self, make_fl_error(errc::peer_lost,
                                      "cannot reach " + s.host + ":"
                                        + std::to_string(s.port)));
          return;
        }
        auto wait = std::min(s.backoff_max_s,
                             s.backoff_initial_s
                               * static_cast<double>(1 << std::min(
                                   state.failures - 1, 16)));
        // Quiet for the first seconds (a server still starting), then a
        // warning every 10 s, so a user sees why nothing happens.
        const auto now = std::chrono::steady_clock::now();
        if (state.failures == 1) {
          state.failing_since = now;
          state.reported = false;
        }
        const auto since = seconds_between(state.failing_since, now);
        if (since >= s.quiet_retry_s
            && (!state.reported
                || seconds_between(state.last_report, now) >= 10)) {
          state.reported = true;
          state.last_report = now;
          log.wire->warn("cannot reach {}:{} for {:.0f} s ({}); attempt {} "
                         "of {}, retrying in {:.1f} s",
                         s.host, s.port, since, describe(err), state.failures,
                         s.max_attempts, wait);
        } else {
          log.wire->debug("connect to {}:{} failed ({}); retry in {:.1f} s",
                          s.host, s.port, describe(err), wait);
        }
        self->delayed_send(self, to_timespan(wait), connect_atom::value);
      });
}

/// Starts the bulk link the dialer opened to the server.
void attach_bulk(upstream_actor* self, const upstream_settings& s,
                 bulk_socket& b, const loggers& log) {
  auto& st = self->state;
  if (!st.remote || st.link)
    return; // the socket closes with `b`
  // The server sends one model at a time to this process: its buffers
  // have no bound but the message limit the link checks.
  st.link = start_bulk_link(b.release(), self->address(), {}, st.buffers,
                            s.limits.max_message_bytes, *st.out);
  log.wire->debug("bulk link to {}:{} up", s.host, s.port);
}

/// Sends what waited while a bulk link was dialed.
void end_dialing(upstream_actor* self, const loggers& log) {
  auto& st = self->state;
  st.dialing = false;
  if (!st.remote)
    return; // connect() sends the queue
  auto queued = std::move(st.queue);
  st.queue.clear();
  for (auto& env : queued)
    send_now(self, log, std::move(env));
}

/// Dials the bulk link the server offered, on a thread of its own.
void dial_bulk(upstream_actor* self, const upstream_settings& s,
               const bulk_offer_view& offer) {
  self->state.dialing = true;
  auto me = caf::actor_cast<caf::actor>(self);
  self->spawn<caf::detached>(
    [me, host = s.host, offer](caf::event_based_actor* dialer) {
      auto fd = net::bulk_link::dial(host, offer.port, offer.ticket, 5);
      if (fd)
        dialer->send(me, bulk_atom::value, bulk_socket::of(*fd, {}));
      else
        dialer->send(me, bulk_atom::value,
                     bulk_closed{{}, std::move(fd.error())});
    });
}

/// Hands a message from upstream to the local nodes it is for.
void deliver_down(upstream_actor* self, const loggers& log, envelope& env) {
  auto& st = self->state;
  if (env.target.empty()) {
    for (const auto& kv : st.locals)
      self->send(kv.second, deliver_atom::value, env);
    return;
  }
  std::vector<std::string> targets{env.target};
  targets.insert(targets.end(), env.more_targets.begin(),
                 env.more_targets.end());
  const bool leaving = std::holds_alternative<exit_msg>(env.body)
                       || std::holds_alternative<error_msg>(env.body);
  for (const auto& id : targets) {
    auto li = st.locals.find(id);
    if (li == st.locals.end()) {
      log.wire->debug("{} for unknown node {} dropped",
                      message_name(env.body), id);
      continue;
    }
    // A node told to leave (or refused) must not rejoin on reconnect.
    if (leaving)
      st.joins.erase(id);
    // Every local node gets the same decoded body: its tensors are views
    // into one shared buffer.
    self->send(li->second, deliver_atom::value, envelope{id, env.body, {}});
  }
}

/// Acts on what the assembler made of a frame or a bulk arrival.
void on_result(upstream_actor* self, const upstream_settings& s,
               const loggers& log, caf::expected<assembled>& res) {
  auto& st = self->state;
  if (!res) {
    log.wire->warn("rejected a message from upstream: {}",
                   describe(res.error()));
    return;
  }
  if (res->answer_pieces > 0)
    self->send(st.remote, frame_atom::value,
               wire_frame{encode_credit(res->answer_transfer,
                                        res->answer_pieces)});
  if (res->credit) {
    if (auto err = st.out->credit(res->credit->transfer_id,
                                  res->credit->pieces))
      log.wire->warn("upstream sent a bad credit: {}", describe(err));
    flush(self);
  }
  if (res->offer && s.bulk && !st.link)
    dial_bulk(self, s, *res->offer);
  if (res->message)
    deliver_down(self, log, *res->message);
  for (auto& env : res->more)
    deliver_down(self, log, env);
}

} // namespace

caf::actor spawn_upstream_connector(caf::actor_system& sys,
                                    upstream_settings s, loggers log) {
  return sys.spawn([s, log](upstream_actor* self) -> caf::behavior {
    self->state.assembler = frame_assembler{s.limits, self->state.buffers};
    self->set_down_handler([self, s, log](caf::down_msg& dm) {
      auto& st = self->state;
      if (st.remote && dm.source == st.remote.address()) {
        log.wire->warn("lost the connection to {}:{} ({}); reconnecting",
                       s.host, s.port, describe(dm.reason));
        st.remote = caf::actor{};
        st.link.reset();
        if (auto err = st.assembler.abandon())
          log.wire->warn("{}", describe(err));
        connect(self, s, log);
        return;
      }
      // A local node ended: forget it.
      for (auto i = st.locals.begin(); i != st.locals.end();) {
        if (i->second.address() == dm.source) {
          st.joins.erase(i->first);
          i = st.locals.erase(i);
        } else {
          ++i;
        }
      }
      if (st.locals.empty() && st.joins.empty())
        self->quit();
    });
    connect(self, s, log);
    return {
      [self, s, log](deliver_atom, envelope& env) {
        auto& st = self->state;
        if (auto* j = std::get_if<join_msg>(&env.body)) {
          auto sender = caf::actor_cast<caf::actor>(self->current_sender());
          if (!sender) {
            log.wire->warn("join without a sender dropped");
            return;
          }
          if (st.locals.emplace(j->node_id, sender).second)
            self->monitor(sender);
          j->auth_token = s.token;
          st.joins[j->node_id] = env;
        }
        if (st.remote && !st.dialing)
          send_now(self, log, std::move(env));
        else
          st.queue.push_back(std::move(env));
      },
      [self, s, log](frame_atom, wire_frame& f) {
        auto& st = self->state;
        if (!st.remote || self->current_sender() != st.remote) {
          log.wire->warn("a frame from someone but the server dropped");
          return;
        }
        auto bytes = std::make_shared<const byte_buffer>(std::move(f.bytes));
        auto res = st.assembler.feed(std::move(bytes));
        on_result(self, s, log, res);
      },
      [self, s, log](bulk_atom, bulk_socket& b) {
        attach_bulk(self, s, b, log);
        end_dialing(self, log);
      },
      [self, s, log](bulk_atom, bulk_arrival& a) {
        auto res = self->state.assembler.bulk_arrived(
          a.transfer_id, std::move(a.values), a.numel);
        on_result(self, s, log, res);
      },
      [self](bulk_atom, bulk_sent&) {
        auto& st = self->state;
        if (!st.out || !st.remote)
          return;
        st.out->bulk_sent();
        flush(self);
      },
      [self, s, log](bulk_atom, bulk_closed& c) {
        auto& st = self->state;
        if (!st.link) {
          if (c.why)
            log.wire->warn("no bulk link to {} ({}); models travel as "
                           "pieces on the connection",
                           s.host, describe(c.why));
          end_dialing(self, log);
          return;
        }
        st.link.reset();
        if (st.out)
          st.out->use_bulk({});
        if (!c.why)
          return;
        // Values in flight are lost: rejoin as after a lost connection (the
        // server counts our nodes as lost and offers a new link).
        log.wire->warn("bulk link to {}:{} failed ({}); rejoining", s.host,
                       s.port, describe(c.why));
        if (st.remote)
          self->demonitor(st.remote);
        st.remote = caf::actor{};
        if (auto err = st.assembler.abandon())
          log.wire->warn("{}", describe(err));
        connect(self, s, log);
      },
      [self, s, log](connect_atom) { connect(self, s, log); },
    };
  });
}

} // namespace fl
