#pragma once

// Sending to the members of a serving actor (server, async server,
// scheduler), whose membership (runtime/federation/membership.hpp) maps node
// ids to routes.

#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "messages/atoms.hpp"
#include "messages/types.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/aggregation/strategy.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/federation/client_evaluations.hpp"
#include "runtime/federation/client_profiles.hpp"
#include "runtime/federation/membership.hpp"

namespace fl {

/// Sends `body` to the live member `id` (dropped if it is not live).
template <class Self>
void deliver_to(Self* self, const membership& members, const std::string& id,
                message body) {
  if (auto* m = members.find(id))
    self->send(m->route, deliver_atom::value, envelope{id, std::move(body)});
}

/// Refuses a join: an Error for `id`, sent straight to `route` (the joiner
/// is not a member).
template <class Self>
void refuse_join(Self* self, const caf::actor& route, const std::string& id,
                 errc code, std::string why) {
  self->send(route, deliver_atom::value,
             envelope{id, error_msg{static_cast<uint16_t>(code),
                                    "join refused: " + std::move(why)}});
}

/// The errc a refused join is answered with.
inline errc join_error_code(join_outcome x) {
  return x == join_outcome::layout_mismatch ? errc::layout_mismatch
         : x == join_outcome::bad_protocol  ? errc::invalid_field
                                            : errc::unauthorized;
}

/// The validated fields of a Join a membership needs.
inline join_request join_request_of(const join_msg& j) {
  return join_request{j.node_id, j.protocol, j.num_samples, j.layout_hash,
                      j.numel};
}

/// Admits the join `j` that came from `route` into `members`; a local route
/// is monitored once (its down_msg is the loss of all its members). A
/// refused join is logged and answered with an Error that says why. Returns
/// whether it was admitted.
template <class Self>
bool admit(Self* self, membership& members, const caf::actor& route,
           const join_msg& j, const loggers& log) {
  auto req = join_request_of(j);
  const bool new_route = !members.knows_route(route.address());
  auto outcome = members.join(req, route);
  if (outcome != join_outcome::admitted && outcome != join_outcome::rejoined) {
    auto why = members.explain(outcome, req);
    log.wire->warn("join from {} refused: {}", j.node_id, why);
    refuse_join(self, route, j.node_id, join_error_code(outcome), why);
    return false;
  }
  // One monitor per route: a host of a million virtual clients is one
  // route, and CAF keeps monitors in a list it scans.
  if (new_route && route.node() == self->node())
    self->monitor(route);
  return true;
}

/// Sends `body` to the members `ids` as one multicast envelope per route, so
/// clients behind one connector (one remote process) share a single encoded
/// copy. `on_route(n)` is called with the number of ids of each route.
/// Ids that are not live members are skipped.
template <class Self, class OnRoute>
void multicast(Self* self, const membership& members,
               const std::vector<std::string>& ids, const message& body,
               OnRoute on_route) {
  std::map<caf::actor, std::vector<std::string>> by_route;
  for (const auto& id : ids)
    if (auto* m = members.find(id))
      by_route[m->route].push_back(id);
  for (auto& [route, group] : by_route) {
    on_route(group.size());
    envelope env{group.front(), body};
    env.more_targets.assign(group.begin() + 1, group.end());
    self->send(route, deliver_atom::value, std::move(env));
  }
}

/// The loss and accuracy a client-side evaluation answer carries (none for
/// an Error: the client could not evaluate).
inline std::optional<std::pair<double, double>>
client_eval_answer(const eval_result_msg* r) {
  if (!r)
    return std::nullopt;
  return std::make_pair(r->loss, r->accuracy);
}

/// The weight of `id`'s evaluation: the samples it evaluated, at most those
/// it announced at join, so that no client outweighs the others by
/// claiming more.
inline double client_eval_weight(const membership& members,
                                 const std::string& id,
                                 const eval_result_msg* r,
                                 uint64_t max_samples) {
  if (!r)
    return 0;
  return static_cast<double>(
    std::min(r->num_samples, members.sample_limit(id, max_samples)));
}

/// The live members as a strategy sees them (id and announced samples).
inline const std::vector<client_info>&
available_clients(const membership& members) {
  return members.alive_view();
}

/// The live members that may be sampled now: all of them, or with
/// `profiles` those of its simulated clients online at its clock (members
/// with other ids count as online). The filtered list is made in `scratch`.
inline const std::vector<client_info>&
online_clients(const membership& members, const client_profiles* profiles,
               std::vector<client_info>& scratch) {
  const auto& all = members.alive_view();
  if (!profiles || profiles->always_online())
    return all;
  const double t = profiles->now();
  scratch.clear();
  for (const auto& m : all) {
    auto index = client_index(m.id);
    if (!index || profiles->online(*index, t))
      scratch.push_back(m);
  }
  return scratch;
}

/// Starts client-side evaluation `key` (a round, or a model version) of
/// `model`: the strategy's sample of live members gets Evaluate, and a
/// client_eval_deadline_atom(key) to `self` closes it after `deadline_s`.
template <class Self>
void ask_client_evaluation(Self* self, const membership& members,
                           strategy& strat, client_evaluations& evals,
                           uint64_t key, const model_layout& layout,
                           const model_state& model, double deadline_s) {
  auto ids = strat.configure_evaluate(key, available_clients(members));
  if (ids.empty())
    return;
  evals.start(key, ids);
  evaluate_msg m;
  m.round = key;
  m.model_version = model.version;
  m.model.layout = layout;
  m.model.values = model.values;
  m.model.owner = model.owner;
  multicast(self, members, ids, m, [](size_t) {});
  self->delayed_send(self, to_timespan(deadline_s),
                     client_eval_deadline_atom::value, key);
}

/// Sends Exit to every live member (one envelope per route).
template <class Self>
void exit_all(Self* self, const membership& members, const std::string& why) {
  multicast(self, members, members.alive_ids(), exit_msg{why},
            [](size_t) {});
}

} // namespace fl
