#pragma once

// Member bookkeeping shared by the actors that serve a group (server, async
// server, scheduler). Each keeps a map from node id to a member struct with
// at least `caf::actor route` and `bool alive`.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "messages/atoms.hpp"
#include "messages/types.hpp"

namespace fl {

/// Members still connected.
template <class Members>
size_t count_alive(const Members& members) {
  size_t n = 0;
  for (const auto& kv : members)
    n += kv.second.alive ? 1 : 0;
  return n;
}

/// Ids of the live members reached through the actor at `addr` (one local
/// client, or every client behind one connector), e.g. for a down_msg.
template <class Members>
std::vector<std::string> ids_routed_by(const Members& members,
                                       const caf::actor_addr& addr) {
  std::vector<std::string> ids;
  for (const auto& kv : members)
    if (kv.second.alive && kv.second.route.address() == addr)
      ids.push_back(kv.first);
  return ids;
}

/// Sends `body` to the members `ids` as one multicast envelope per route, so
/// clients behind one connector (one remote process) share a single encoded
/// copy. `on_route(n)` is called with the number of ids of each route.
/// REQUIRES: every id is a key of `members`.
template <class Self, class Members, class OnRoute>
void multicast(Self* self, const Members& members,
               const std::vector<std::string>& ids, const message& body,
               OnRoute on_route) {
  std::map<caf::actor, std::vector<std::string>> by_route;
  for (const auto& id : ids)
    by_route[members.at(id).route].push_back(id);
  for (auto& [route, group] : by_route) {
    on_route(group.size());
    envelope env{group.front(), body};
    env.more_targets.assign(group.begin() + 1, group.end());
    self->send(route, deliver_atom::value, std::move(env));
  }
}

} // namespace fl
