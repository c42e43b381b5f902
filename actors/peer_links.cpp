#include "actors/peer_links.hpp"

#include <map>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/peer.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

namespace {

struct links_state {
  std::map<size_t, caf::actor> links;            ///< neighbor -> connector
  std::map<caf::actor_addr, size_t> neighbor_of; ///< connector -> neighbor
  static inline const char* name = "fl.peer_links";
};

using links_actor = caf::stateful_actor<links_state>;

} // namespace

caf::actor spawn_peer_links(caf::actor_system& sys, peer_links_settings s,
                            caf::actor peer, loggers log) {
  return sys.spawn([s, peer, log](links_actor* self) -> caf::behavior {
    self->monitor(peer);
    self->set_down_handler([self, peer](caf::down_msg& dm) {
      if (dm.source == peer.address()) {
        for (auto& [j, link] : self->state.links)
          self->send_exit(link, caf::exit_reason::user_shutdown);
        self->quit(dm.reason);
        return;
      }
      self->state.neighbor_of.erase(dm.source);
    });
    auto link_to = [self, s, log](size_t j) -> caf::actor {
      auto& st = self->state;
      if (auto i = st.links.find(j); i != st.links.end())
        return i->second;
      auto us = s.link;
      us.host = s.addresses[j].first;
      us.port = s.addresses[j].second;
      auto link = spawn_upstream_connector(self->system(), us, log);
      self->monitor(link);
      st.links.emplace(j, link);
      st.neighbor_of.emplace(link.address(), j);
      // The join goes first; the connector re-sends it on every reconnect.
      self->send(link, deliver_atom::value, envelope{"", message{s.join}});
      return link;
    };
    const auto n = s.addresses.size();
    return {
      [self, peer, link_to, n, log](deliver_atom, envelope& env) {
        auto sender = self->current_sender();
        if (sender == peer.address()) {
          auto j = peer_index(env.target, n);
          if (!j) {
            log.wire->warn("no link to '{}'; {} dropped", env.target,
                           message_name(env.body));
            return;
          }
          self->send(link_to(*j), deliver_atom::value, std::move(env));
          return;
        }
        // From a link: a neighbor's answer (a state reply, an error).
        if (auto* e = std::get_if<error_msg>(&env.body)) {
          log.node->error("a neighbor refused this peer: {}", e->message);
          if (e->code == static_cast<uint16_t>(errc::unauthorized)) {
            self->send_exit(peer, make_fl_error(errc::unauthorized,
                                                e->message));
            return;
          }
        }
        self->send(peer, deliver_atom::value, std::move(env));
      },
      [self, peer](lost_atom, const std::string&, const caf::error& why) {
        auto& st = self->state;
        auto i = st.neighbor_of.find(
          caf::actor_cast<caf::actor_addr>(self->current_sender()));
        if (i == st.neighbor_of.end())
          return;
        auto j = i->second;
        st.links.erase(j);
        st.neighbor_of.erase(i);
        self->send(peer, lost_atom::value, peer_id(j), why);
      },
    };
  });
}

} // namespace fl
