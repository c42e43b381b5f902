#include "actors/downstream_connector.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/bulk_events.hpp"
#include "actors/bulk_wiring.hpp"
#include "actors/interfaces.hpp"
#include "messages/chunking.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/net/bulk_link.hpp"

namespace fl {

namespace {

struct peer {
  caf::actor handle;
  frame_assembler assembler;
  outbox out;
  std::set<std::string> nodes; ///< ids that joined through this peer
  /// Error codes already logged for this peer: a peer that sends the same
  /// bad frame over and over is logged once per kind (then at debug level).
  std::set<uint8_t> logged;
  bool offered = false; ///< a bulk link was offered
  std::shared_ptr<net::bulk_link> link;
};


struct downstream_state {
  std::map<caf::actor_addr, peer> peers;
  std::map<std::string, caf::actor_addr> routes; ///< node id -> peer
  std::shared_ptr<receive_budget> budget;
  std::unique_ptr<net::bulk_listener> listener;
  static inline const char* name = "fl.downstream";
};

using downstream_actor = caf::stateful_actor<downstream_state>;

/// The node id a message claims to come from ("" if it names none).
std::string claimed_id(const message& body) {
  return std::visit(
    [](const auto& m) -> std::string {
      using T = std::decay_t<decltype(m)>;
      if constexpr (std::is_same<T, join_msg>::value
                    || std::is_same<T, update_msg>::value
                    || std::is_same<T, request_msg>::value
                    || std::is_same<T, eval_result_msg>::value
                    || std::is_same<T, heartbeat_msg>::value
                    || std::is_same<T, error_msg>::value
                    || std::is_same<T, gossip_msg>::value)
        return m.node_id;
      else
        return "";
    },
    body);
}

/// Sends what `p`'s outbox lets go now.
void flush(downstream_actor* self, peer& p) {
  for (auto& f : p.out.take())
    self->send(p.handle, frame_atom::value, wire_frame{std::move(f)});
}

void send_to(downstream_actor* self, peer& p, envelope env,
             const loggers& log) {
  if (auto err = p.out.push(std::move(env))) {
    log.wire->error("cannot send to {}: {}", caf::to_string(p.handle),
                    describe(err));
    return;
  }
  flush(self, p);
}

void reject(downstream_actor* self, peer& p, const std::string& target,
            errc code, const std::string& why, const loggers& log) {
  send_to(self, p,
          envelope{target, error_msg{static_cast<uint16_t>(code), why}}, log);
}

void drop_peer(downstream_actor* self, const caf::actor& owner,
               const caf::actor_addr& addr, const caf::error& why) {
  auto i = self->state.peers.find(addr);
  if (i == self->state.peers.end())
    return;
  for (const auto& id : i->second.nodes) {
    self->state.routes.erase(id);
    self->send(owner, lost_atom::value, id, why);
  }
  self->state.peers.erase(i);
}

/// Invites a peer that joined to open a bulk link (once per connection).
void offer_bulk(downstream_actor* self, peer& p, const loggers& log) {
  auto& st = self->state;
  if (!st.listener || p.offered)
    return;
  p.offered = true;
  caf::actor_addr me = self->address();
  auto ticket = st.listener->expect([me, addr = p.handle.address()](int fd) {
    auto ev = bulk_socket::of(fd, addr);
    if (auto a = caf::actor_cast<caf::actor>(me))
      caf::anon_send(a, bulk_atom::value, std::move(ev));
  });
  self->send(p.handle, frame_atom::value,
             wire_frame{encode_bulk_offer(st.listener->port(), ticket)});
  log.wire->debug("offered {} a bulk link on port {}",
                  caf::to_string(p.handle.address()), st.listener->port());
}

/// Starts the bulk link a peer opened with its ticket.
void attach_bulk(downstream_actor* self, const downstream_settings& s,
                 bulk_socket& b, const loggers& log) {
  auto& st = self->state;
  auto pi = st.peers.find(b.peer);
  if (pi == st.peers.end() || pi->second.link)
    return; // gone, or a second link: the socket closes with `b`
  auto& p = pi->second;
  p.link = start_bulk_link(b.release(), self->address(), b.peer, st.budget,
                           s.limits.max_message_bytes, p.out);
  log.wire->debug("bulk link to {} up", caf::to_string(b.peer));
}

/// Checks a complete message from peer `pi` and hands it to the owner.
void admit(downstream_actor* self, const caf::actor& owner,
           const downstream_settings& s, const loggers& log,
           std::map<caf::actor_addr, peer>::iterator pi, envelope& env) {
  auto& st = self->state;
  auto& p = pi->second;
  auto id = claimed_id(env.body);
  if (auto* j = std::get_if<join_msg>(&env.body)) {
    if (!s.token.empty() && j->auth_token != s.token) {
      log.wire->warn("join from {} refused: bad token", j->node_id);
      reject(self, p, j->node_id, errc::unauthorized,
             "join refused: wrong or missing token", log);
      return;
    }
    std::string why;
    if (s.gate && !s.gate->may_join(p.handle.node(), id, why)) {
      log.wire->warn("join as {} refused: {}", id, why);
      reject(self, p, id, errc::unauthorized,
             "join as '" + id + "' refused: " + why, log);
      return;
    }
    auto ri = st.routes.find(id);
    if (ri != st.routes.end() && ri->second != p.handle.address()) {
      log.wire->warn("join from {} refused: id in use", id);
      reject(self, p, id, errc::unauthorized,
             "node id '" + id + "' is already in use", log);
      return;
    }
    j->auth_token.clear(); // the secret stops at the edge
    if (p.nodes.empty()) // joined now: full-size transfers are allowed
      p.assembler = frame_assembler{s.limits, st.budget};
    st.routes[id] = p.handle.address();
    p.nodes.insert(id);
    offer_bulk(self, p, log);
  } else if (!id.empty() && p.nodes.count(id) == 0) {
    log.wire->warn("{} from a peer that did not join as {} dropped",
                   message_name(env.body), id);
    reject(self, p, id, errc::unauthorized,
           "node '" + id + "' has not joined through this connection", log);
    return;
  } else if (id.empty() && p.nodes.empty()) {
    log.wire->warn("{} before any join dropped", message_name(env.body));
    return;
  }
  self->send(owner, deliver_atom::value, std::move(env));
}

/// Acts on what the assembler made of a frame (or of a resumed transfer).
void on_assembled(downstream_actor* self, const caf::actor& owner,
                  const downstream_settings& s, const loggers& log,
                  std::map<caf::actor_addr, peer>::iterator pi,
                  caf::expected<assembled>& res) {
  auto& p = pi->second;
  if (!res) {
    const bool first = p.logged.insert(res.error().code()).second;
    log.wire->log(first ? spdlog::level::warn : spdlog::level::debug,
                  "rejected a message from {}: {}",
                  caf::to_string(p.handle.address()), describe(res.error()));
    reject(self, p, "", static_cast<errc>(res.error().code()),
           describe(res.error()), log);
    return;
  }
  if (res->answer_pieces > 0)
    self->send(p.handle, frame_atom::value,
               wire_frame{encode_credit(res->answer_transfer,
                                        res->answer_pieces)});
  if (res->credit) {
    if (auto err = p.out.credit(res->credit->transfer_id,
                                res->credit->pieces))
      log.wire->warn("{} sent a bad credit: {}",
                     caf::to_string(p.handle.address()), describe(err));
    flush(self, p);
  }
  if (res->message)
    admit(self, owner, s, log, pi, *res->message);
  for (auto& env : res->more)
    admit(self, owner, s, log, pi, env);
}

} // namespace

caf::actor spawn_downstream_connector(caf::actor_system& sys, caf::actor owner,
                                      downstream_settings s, loggers log) {
  return sys.spawn([owner, s, log](downstream_actor* self) -> caf::behavior {
    self->monitor(owner);
    // Released buffers wake this actor (from any thread) to resume waiting
    // transfers; a weak handle, so a buffer outliving it is harmless.
    caf::actor_addr me = self->address();
    self->state.budget = std::make_shared<receive_budget>(
      s.receive_budget_bytes, [me] {
        if (auto a = caf::actor_cast<caf::actor>(me))
          caf::anon_send(a, retry_atom::value);
      });
    if (!s.bulk_host.empty()) {
      auto listener = net::bulk_listener::listen(s.bulk_host);
      if (listener)
        self->state.listener = std::move(*listener);
      else
        log.wire->warn("no bulk links ({}); models travel as pieces on the "
                       "connection",
                       describe(listener.error()));
    }
    self->set_down_handler([self, owner, log](caf::down_msg& dm) {
      if (dm.source == owner.address()) {
        self->quit(dm.reason);
        return;
      }
      log.wire->debug("peer {} gone: {}", caf::to_string(dm.source),
                      describe(dm.reason));
      drop_peer(self, owner, dm.source,
                make_fl_error(errc::peer_lost,
                              "connection lost: " + describe(dm.reason)));
    });
    return {
      [self, owner, s, log](frame_atom, wire_frame& f) {
        auto handle = caf::actor_cast<caf::actor>(self->current_sender());
        if (!handle) {
          log.wire->warn("frame without a sender dropped");
          return;
        }
        auto& st = self->state;
        auto pi = st.peers.find(handle.address());
        if (pi == st.peers.end()) {
          self->monitor(handle);
          auto first = s.limits;
          first.max_message_bytes = std::min(first.max_message_bytes,
                                             max_pre_join_bytes);
          pi = st.peers
                 .emplace(handle.address(),
                          peer{handle, frame_assembler{first}, outbox{s.send},
                               {}, {}, false, nullptr})
                 .first;
        }
        auto bytes = std::make_shared<const byte_buffer>(std::move(f.bytes));
        auto res = pi->second.assembler.feed(std::move(bytes));
        on_assembled(self, owner, s, log, pi, res);
      },
      [self, owner, s, log](retry_atom) {
        auto& st = self->state;
        for (auto pi = st.peers.begin(); pi != st.peers.end(); ++pi) {
          if (!pi->second.assembler.waiting())
            continue;
          auto res = pi->second.assembler.resume();
          on_assembled(self, owner, s, log, pi, res);
        }
      },
      [self, s, log](bulk_atom, bulk_socket& b) {
        attach_bulk(self, s, b, log);
      },
      [self, owner, s, log](bulk_atom, bulk_arrival& a) {
        auto pi = self->state.peers.find(a.peer);
        if (pi == self->state.peers.end())
          return;
        auto res = pi->second.assembler.bulk_arrived(
          a.transfer_id, std::move(a.values), a.numel);
        on_assembled(self, owner, s, log, pi, res);
      },
      [self](bulk_atom, bulk_sent& x) {
        auto pi = self->state.peers.find(x.peer);
        if (pi == self->state.peers.end())
          return;
        pi->second.out.bulk_sent();
        flush(self, pi->second);
      },
      [self, owner, log](bulk_atom, bulk_closed& c) {
        auto pi = self->state.peers.find(c.peer);
        if (pi == self->state.peers.end())
          return;
        pi->second.out.use_bulk({});
        if (!c.why) {
          pi->second.link.reset();
          return;
        }
        // Values in flight are lost with the link: the peer's nodes fail
        // like a lost connection (they rejoin, with a new link).
        log.wire->warn("bulk link of {} failed: {}",
                       caf::to_string(c.peer), describe(c.why));
        drop_peer(self, owner, c.peer,
                  make_fl_error(errc::peer_lost,
                                "bulk link failed: " + describe(c.why)));
      },
      [self, log](deliver_atom, envelope& env) {
        // Group the destinations by peer so that a multicast body (one model
        // for many clients of one process) is framed once per peer.
        auto& st = self->state;
        std::map<caf::actor_addr, std::vector<std::string>> by_peer;
        auto add = [&](const std::string& id) {
          auto ri = st.routes.find(id);
          if (ri == st.routes.end()) {
            log.wire->debug("no route to {}; {} dropped", id,
                            message_name(env.body));
            return;
          }
          by_peer[ri->second].push_back(id);
        };
        add(env.target);
        for (const auto& id : env.more_targets)
          add(id);
        for (auto& [addr, ids] : by_peer) {
          auto pi = st.peers.find(addr);
          if (pi == st.peers.end())
            continue;
          envelope out;
          out.target = ids.front();
          out.more_targets.assign(ids.begin() + 1, ids.end());
          out.body = env.body; // shares the model bytes, no copy
          send_to(self, pi->second, std::move(out), log);
        }
      },
    };
  });
}

} // namespace fl
