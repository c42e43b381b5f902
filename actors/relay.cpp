// The relay: a scheduler for the async modes.
//
//   relaying --- upstream lets every member go, or loses them ---> quit
//   relaying --- upstream gone ---> Exit to the group ---> quit

#include "actors/relay.hpp"

#include <unordered_map>
#include <unordered_set>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

namespace {

struct relay_state {
  relay_settings cfg;
  caf::actor upstream;
  loggers log;
  std::unordered_map<std::string, caf::actor> routes; ///< live members
  std::unordered_set<std::string> let_go; ///< Exit or Error from upstream
  bool exiting = false;
  static inline const char* name = "fl.relay";
};

using relay_actor = caf::stateful_actor<relay_state>;

void to_member(relay_actor* self, const std::string& id, message body) {
  auto i = self->state.routes.find(id);
  if (i != self->state.routes.end())
    self->send(i->second, deliver_atom::value, envelope{id, std::move(body)});
}

/// True once no live member is still served by the upstream.
bool nobody_left(const relay_state& st) {
  for (const auto& kv : st.routes)
    if (st.let_go.count(kv.first) == 0)
      return false;
  return true;
}

void exit_group(relay_actor* self, const std::string& why) {
  auto& st = self->state;
  st.exiting = true;
  for (const auto& kv : st.routes)
    self->send(kv.second, deliver_atom::value, envelope{kv.first,
                                                        exit_msg{why}});
  if (st.routes.empty()) {
    self->quit();
    return;
  }
  self->delayed_send(self, to_timespan(st.cfg.exit_grace_s), stop_atom::value);
}

void on_lost(relay_actor* self, const std::string& id) {
  auto& st = self->state;
  if (st.routes.erase(id) == 0)
    return;
  if (!st.exiting && st.let_go.count(id) == 0)
    // The server must not wait for a model it handed out.
    self->send(st.upstream, deliver_atom::value,
               envelope{"", error_msg{static_cast<uint16_t>(errc::peer_lost),
                                      id + " was lost", id, 0}});
  st.let_go.erase(id);
  if (st.exiting ? st.routes.empty()
                 : !st.routes.empty() && nobody_left(st))
    self->quit();
}

caf::behavior relay(relay_actor* self, relay_settings cfg, caf::actor upstream,
                    loggers log) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  init.upstream = std::move(upstream);
  init.log = std::move(log);
  self->monitor(init.upstream);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.upstream.address()) {
      st.log.node->error("relay {}: upstream gone: {}", st.cfg.id,
                         describe(dm.reason));
      exit_group(self, "upstream gone");
      return;
    }
    std::vector<std::string> gone;
    for (const auto& kv : st.routes)
      if (kv.second.address() == dm.source)
        gone.push_back(kv.first);
    for (const auto& id : gone)
      on_lost(self, id);
  });
  return {
    [self](deliver_atom, envelope& env) {
      auto& st = self->state;
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      if (sender == st.upstream) {
        // A reply for members (welcome, model, exit, error; multicast to
        // several of them): pass it on to each.
        if (env.target.empty() || env.target == st.cfg.id) {
          st.log.node->warn("relay {}: {} from upstream ignored", st.cfg.id,
                            message_name(env.body));
          return;
        }
        const bool final = std::holds_alternative<exit_msg>(env.body)
                           || std::holds_alternative<error_msg>(env.body);
        env.more_targets.push_back(env.target);
        for (const auto& id : env.more_targets) {
          if (final)
            st.let_go.insert(id);
          to_member(self, id, env.body);
        }
        if (nobody_left(st))
          self->quit();
        return;
      }
      if (auto* j = std::get_if<join_msg>(&env.body)) {
        if (!sender)
          return;
        auto i = st.routes.find(j->node_id);
        if (i != st.routes.end() && i->second != sender) {
          self->send(sender, deliver_atom::value,
                     envelope{j->node_id,
                              error_msg{static_cast<uint16_t>(
                                          errc::unauthorized),
                                        "join refused: node id '" + j->node_id
                                          + "' is already in use"}});
          return;
        }
        if (sender.node() == self->node())
          self->monitor(sender);
        st.routes[j->node_id] = sender;
        st.let_go.erase(j->node_id);
        if (st.exiting) {
          to_member(self, j->node_id, exit_msg{"federation finished"});
          return;
        }
      }
      // Joins, requests, updates, errors of members: the server decides.
      self->send(st.upstream, deliver_atom::value,
                 envelope{"", std::move(env.body)});
    },
    [self](lost_atom, const std::string& id, const caf::error& why) {
      if (id == "upstream") {
        exit_group(self, "upstream lost: " + describe(why));
        return;
      }
      on_lost(self, id);
    },
    [self](stop_atom) { self->quit(); },
  };
}

} // namespace

caf::actor spawn_relay(caf::actor_system& sys, relay_settings s,
                       caf::actor upstream, loggers log) {
  return sys.spawn(relay, std::move(s), std::move(upstream), std::move(log));
}

} // namespace fl
