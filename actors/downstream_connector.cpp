#include "actors/downstream_connector.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "messages/chunking.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

namespace {

struct peer {
  caf::actor handle;
  frame_assembler assembler;
  std::set<std::string> nodes; ///< ids that joined through this peer
  /// Error codes already logged for this peer: a peer that sends the same
  /// bad frame over and over is logged once per kind (then at debug level).
  std::set<uint8_t> logged;
};

struct downstream_state {
  std::map<caf::actor_addr, peer> peers;
  std::map<std::string, caf::actor_addr> routes; ///< node id -> peer
  uint64_t next_transfer = 1;
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

void send_frames(downstream_actor* self, const caf::actor& to,
                 const envelope& env, size_t chunk_bytes) {
  auto frames = encode_frames(env, chunk_bytes, self->state.next_transfer++);
  for (auto& f : frames)
    self->send(to, frame_atom::value, wire_frame{std::move(f)});
}

void reject(downstream_actor* self, const caf::actor& to,
            const std::string& target, errc code, const std::string& why,
            size_t chunk_bytes) {
  send_frames(self, to,
              envelope{target, error_msg{static_cast<uint16_t>(code), why}},
              chunk_bytes);
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

} // namespace

caf::actor spawn_downstream_connector(caf::actor_system& sys, caf::actor owner,
                                      downstream_settings s, loggers log) {
  return sys.spawn([owner, s, log](downstream_actor* self) -> caf::behavior {
    self->monitor(owner);
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
          pi = st.peers.emplace(handle.address(),
                                peer{handle, frame_assembler{first}, {}, {}})
                 .first;
        }
        auto bytes = std::make_shared<const byte_buffer>(std::move(f.bytes));
        auto res = pi->second.assembler.feed(std::move(bytes));
        if (!res) {
          const bool first
            = pi->second.logged.insert(res.error().code()).second;
          log.wire->log(first ? spdlog::level::warn : spdlog::level::debug,
                        "rejected a message from {}: {}",
                        caf::to_string(handle.address()),
                        describe(res.error()));
          reject(self, handle, "", static_cast<errc>(res.error().code()),
                 describe(res.error()), s.chunk_bytes);
          return;
        }
        if (!*res)
          return; // more chunks to come
        auto& env = **res;
        auto id = claimed_id(env.body);
        if (auto* j = std::get_if<join_msg>(&env.body)) {
          if (!s.token.empty() && j->auth_token != s.token) {
            log.wire->warn("join from {} refused: bad token", j->node_id);
            reject(self, handle, j->node_id, errc::unauthorized,
                   "join refused: wrong or missing token", s.chunk_bytes);
            return;
          }
          std::string why;
          if (s.gate && !s.gate->may_join(handle.node(), id, why)) {
            log.wire->warn("join as {} refused: {}", id, why);
            reject(self, handle, id, errc::unauthorized,
                   "join as '" + id + "' refused: " + why, s.chunk_bytes);
            return;
          }
          auto ri = st.routes.find(id);
          if (ri != st.routes.end() && ri->second != handle.address()) {
            log.wire->warn("join from {} refused: id in use", id);
            reject(self, handle, id, errc::unauthorized,
                   "node id '" + id + "' is already in use", s.chunk_bytes);
            return;
          }
          j->auth_token.clear(); // the secret stops at the edge
          if (pi->second.nodes.empty())
            pi->second.assembler = frame_assembler{s.limits}; // joined now
          st.routes[id] = handle.address();
          pi->second.nodes.insert(id);
        } else if (!id.empty() && pi->second.nodes.count(id) == 0) {
          log.wire->warn("{} from a peer that did not join as {} dropped",
                         message_name(env.body), id);
          reject(self, handle, id, errc::unauthorized,
                 "node '" + id + "' has not joined through this connection",
                 s.chunk_bytes);
          return;
        } else if (id.empty() && pi->second.nodes.empty()) {
          log.wire->warn("{} before any join dropped",
                         message_name(env.body));
          return;
        }
        self->send(owner, deliver_atom::value, std::move(env));
      },
      [self, s, log](deliver_atom, envelope& env) {
        // Group the destinations by peer so that a multicast body (one model
        // for many clients of one process) is encoded and sent once per peer.
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
          send_frames(self, pi->second.handle, out, s.chunk_bytes);
        }
      },
    };
  });
}

} // namespace fl
