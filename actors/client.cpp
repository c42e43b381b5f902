#include "actors/client.hpp"

#include <chrono>
#include <optional>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "runtime/errors.hpp"

namespace fl {

namespace {

struct client_state {
  bool welcomed = false;
  uint64_t busy_round = 0; ///< round being trained, 0 = idle
  std::optional<update_msg> held; ///< update waiting out a simulated delay
  static inline const char* name = "fl.client";
};

using client_actor = caf::stateful_actor<client_state>;

void send_env(client_actor* self, const caf::actor& to, message body) {
  self->send(to, deliver_atom::value, envelope{"", std::move(body)});
}

void on_activation(client_actor* self, const client_settings& s,
                   const caf::actor& upstream, const caf::actor& pool,
                   const loggers& log, activation_msg& act) {
  if (self->state.busy_round != 0) {
    log.node->warn("client {}: activation for round {} while round {} is "
                   "still training; ignored",
                   s.id, act.round, self->state.busy_round);
    return;
  }
  self->state.busy_round = act.round;
  fit_input in;
  in.global = act.model.values;
  in.global_owner = act.model.owner;
  in.samples = s.samples;
  in.seed = s.seed * 1000003u + act.round;
  in.config = s.fit;
  const auto round = act.round;
  const auto base = act.model_version;
  auto layout = act.model.layout;
  self->request(pool, caf::infinite, std::move(in))
    .then(
      [=](fit_output& out) mutable {
        update_msg up;
        up.node_id = s.id;
        up.round = round;
        up.base_version = base;
        up.num_samples = out.num_samples;
        up.metrics = out.metrics;
        up.model.kind = tensor_kind::params;
        up.model.layout = std::move(layout);
        up.model.values = span<const float>{*out.params};
        up.model.owner = out.params;
        if (s.slowdown > 1) {
          // Hold the update until the simulated extra time has passed.
          auto extra = std::chrono::duration<double>{
            out.metrics.train_seconds * (s.slowdown - 1)};
          self->state.held = std::move(up);
          self->delayed_send(
            self, std::chrono::duration_cast<caf::timespan>(extra),
            done_atom::value, round);
          return;
        }
        self->state.busy_round = 0;
        send_env(self, upstream, std::move(up));
      },
      [=](caf::error& err) {
        self->state.busy_round = 0;
        log.node->warn("client {}: training for round {} failed: {}", s.id,
                       round, describe(err));
        send_env(self, upstream,
                 error_msg{static_cast<uint16_t>(errc::invalid_field),
                           "training failed: " + describe(err)});
      });
}

caf::behavior client_behavior(client_actor* self, client_settings s,
                              caf::actor upstream, caf::actor pool,
                              loggers log) {
  join_msg join;
  join.node_id = s.id;
  join.role = node_role::client;
  join.capabilities = {"train"};
  join.num_samples = s.samples ? s.samples->size() : 0;
  send_env(self, upstream, std::move(join));
  return {
    [=](deliver_atom, envelope& env) {
      auto& body = env.body;
      if (auto* w = std::get_if<welcome_msg>(&body)) {
        self->state.welcomed = true;
        log.node->debug("client {} joined {} at model version {}", s.id,
                        w->server_id, w->model_version);
      } else if (auto* act = std::get_if<activation_msg>(&body)) {
        on_activation(self, s, upstream, pool, log, *act);
      } else if (auto* x = std::get_if<exit_msg>(&body)) {
        log.node->debug("client {} exits: {}", s.id, x->reason);
        self->quit();
      } else if (auto* e = std::get_if<error_msg>(&body)) {
        log.node->error("client {}: upstream refused: {}", s.id, e->message);
        if (!self->state.welcomed)
          self->quit(make_fl_error(errc::unauthorized, e->message));
      } else {
        log.node->warn("client {}: unexpected {} ignored", s.id,
                       message_name(body));
      }
    },
    [=](done_atom, uint64_t round) {
      auto& held = self->state.held;
      if (!held || held->round != round)
        return;
      self->state.busy_round = 0;
      send_env(self, upstream, std::move(*held));
      held.reset();
    },
    [=](lost_atom, const std::string&, const caf::error& err) {
      log.node->error("client {}: upstream lost: {}", s.id, describe(err));
      self->quit(err);
    },
  };
}

} // namespace

caf::actor spawn_client(caf::actor_system& sys, client_settings s,
                        caf::actor upstream, caf::actor pool, loggers log) {
  return sys.spawn(client_behavior, std::move(s), std::move(upstream),
                   std::move(pool), std::move(log));
}

} // namespace fl
