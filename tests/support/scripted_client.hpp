#pragma once

// A scripted client for actor tests: joins with the synthetic model and
// answers activations (sync) or models (async modes: then asks for the next
// one) according to its conduct, honest or hostile.

#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/interfaces.hpp"
#include "runtime/core/errors.hpp"
#include "support/synthetic_federation.hpp"

namespace fl::test {

enum class conduct {
  honest,       ///< moves the model a little towards 0.5
  huge_values,  ///< finite but enormous values (3e38)
  huge_samples, ///< claims 2^62 samples
  announces_huge, ///< announces 2^62 samples at join and claims them
  announces_huge_silent, ///< announces 2^62 samples at join, never answers
  fails,        ///< reports a training failure
  fails_later,  ///< honest in round 1, then reports failures
  silent,       ///< never answers
};

/// Errors a scripted client received.
using error_log = std::shared_ptr<std::vector<error_msg>>;

inline void send_env(caf::event_based_actor* self, const caf::actor& to,
                     message body) {
  self->send(to, deliver_atom::value, envelope{"", std::move(body)});
}

/// Answers one model according to `how`: an update (params, or the delta
/// when `delta`), a failure report, or nothing.
inline void answer(caf::event_based_actor* self, const caf::actor& server,
                   const std::string& id, conduct how, uint64_t round,
                   uint64_t version, const tensor& model, bool delta) {
  if (how == conduct::silent || how == conduct::announces_huge_silent)
    return;
  if (how == conduct::fails || (how == conduct::fails_later && round > 1)) {
    send_env(self, server,
             error_msg{static_cast<uint16_t>(errc::training_failed),
                       "out of memory", id, round});
    return;
  }
  auto params = std::make_shared<std::vector<float>>(model.values.begin(),
                                                     model.values.end());
  for (auto& x : *params) {
    const float trained = how == conduct::huge_values ? 3e38f
                                                      : x + 0.1f * (0.5f - x);
    x = delta ? trained - x : trained;
  }
  update_msg up;
  up.node_id = id;
  up.round = round;
  up.base_version = version;
  up.num_samples = how == conduct::huge_samples
                       || how == conduct::announces_huge
                     ? uint64_t{1} << 62
                     : 50;
  up.model.kind = delta ? tensor_kind::delta : tensor_kind::params;
  up.model.layout = model.layout;
  up.model.values = span<const float>{*params};
  up.model.owner = params;
  send_env(self, server, std::move(up));
}

inline caf::behavior scripted_client(caf::event_based_actor* self,
                                     caf::actor server, std::string id,
                                     conduct how, error_log errors) {
  auto join = synthetic_join(id);
  if (how == conduct::announces_huge || how == conduct::announces_huge_silent)
    join.num_samples = uint64_t{1} << 62;
  send_env(self, server, std::move(join));
  auto mode = std::make_shared<federation_mode>(federation_mode::sync);
  return {
    [=](deliver_atom, envelope& env) {
      auto& body = env.body;
      if (auto* e = std::get_if<error_msg>(&body)) {
        errors->push_back(*e);
      } else if (std::holds_alternative<exit_msg>(body)) {
        self->quit();
      } else if (auto* w = std::get_if<welcome_msg>(&body)) {
        *mode = w->mode;
        if (*mode != federation_mode::sync)
          send_env(self, server, request_msg{id});
      } else if (auto* act = std::get_if<activation_msg>(&body)) {
        answer(self, server, id, how, act->round, act->model_version,
               act->model, false);
      } else if (auto* m = std::get_if<model_msg>(&body)) {
        answer(self, server, id, how, 0, m->model_version, m->model,
               *mode == federation_mode::fedbuff);
        send_env(self, server, request_msg{id});
      }
    },
  };
}

/// Spawns one scripted client per conduct, named client-0, client-1, ...,
/// each joining `target` (a server, scheduler or connector).
inline void spawn_scripted_clients(caf::actor_system& sys,
                                   const caf::actor& target,
                                   const std::vector<conduct>& conducts,
                                   const error_log& errors) {
  for (size_t i = 0; i < conducts.size(); ++i)
    sys.spawn(scripted_client, target, "client-" + std::to_string(i),
              conducts[i], errors);
}

} // namespace fl::test
