#include "actors/client.hpp"

#include <chrono>
#include <functional>
#include <optional>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"
#include "runtime/core/actor_system.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

namespace {

// A client is passive (sync: waits for Activation) or active (async and
// fedbuff: Request -> Model -> train -> Update -> Request ...); the server's
// Welcome says which.

struct client_state {
  /// Compresses this client's updates (null: dense); keeps the
  /// error-feedback residual between its fits.
  std::shared_ptr<compressor> comp;
  bool welcomed = false;
  federation_mode mode = federation_mode::sync;
  uint64_t busy_round = 0;        ///< sync round being trained, 0 = idle
  bool busy = false;              ///< a fit is running or its update is held
  std::optional<update_msg> held; ///< update waiting out a simulated delay
  static inline const char* name = "fl.client";
};

using client_actor = caf::stateful_actor<client_state>;

void send_env(client_actor* self, const caf::actor& to, message body) {
  self->send(to, deliver_atom::value, envelope{"", std::move(body)});
}

void ask_for_model(client_actor* self, const client_settings& s,
                   const caf::actor& upstream) {
  if (self->state.mode != federation_mode::sync)
    send_env(self, upstream, request_msg{s.id});
}

/// Sends the finished update; an active client then asks for the next model.
void release(client_actor* self, const client_settings& s,
             const caf::actor& upstream, update_msg up) {
  self->state.busy = false;
  self->state.busy_round = 0;
  send_env(self, upstream, std::move(up));
  ask_for_model(self, s, upstream);
}

/// Trains on `model` in the pool and sends the update (params, or the delta
/// to `model` in fedbuff mode). `round` is 0 in the active modes.
/// Reports a failed fit (or one refused before it started) upstream.
void report_failure(client_actor* self, const client_settings& s,
                    const caf::actor& upstream, const loggers& log,
                    uint64_t round, const caf::error& err) {
  self->state.busy = false;
  self->state.busy_round = 0;
  log.node->warn("client {}: training failed: {}", s.id, describe(err));
  // Reported at once: the round counts this client as failed instead
  // of waiting for its deadline.
  send_env(self, upstream,
           error_msg{static_cast<uint16_t>(errc::training_failed),
                     s.id + ": training failed: " + describe(err), s.id,
                     round});
  // An active client tries again, after a pause so that a trainer
  // that always fails does not spin.
  if (self->state.mode != federation_mode::sync)
    self->delayed_send(upstream, std::chrono::seconds(1), deliver_atom::value,
                       envelope{"", request_msg{s.id}});
}

void start_fit(client_actor* self, const client_settings& s,
               const caf::actor& upstream, const caf::actor& pool,
               const loggers& log, uint64_t round, uint64_t base,
               tensor model, const config_map& instructions,
               const tensor& control) {
  self->state.busy = true;
  self->state.busy_round = round;
  auto cfg = apply_instructions(s.fit, instructions);
  if (!cfg) {
    report_failure(self, s, upstream, log, round, cfg.error());
    return;
  }
  fit_input in;
  in.global = model.values;
  in.global_owner = model.owner;
  in.samples = s.samples;
  in.seed = s.seed * 1000003u + (round != 0 ? round : base + 1);
  in.config = *cfg;
  in.instructions = instructions;
  in.control = control.values;
  in.control_owner = control.owner;
  in.finish = make_update_finish(s.attack, self->state.comp);
  self->request(pool, caf::infinite, std::move(in))
    .then(
      [=](fit_output& out) mutable {
        update_msg up;
        up.node_id = s.id;
        up.round = round;
        up.base_version = base;
        up.num_samples = out.num_samples;
        up.metrics = out.metrics;
        up.extra = std::move(out.extra);
        up.model.layout = model.layout;
        if (out.packed) {
          up.model.kind = tensor_kind::delta;
          up.model.packed = std::move(out.packed);
        } else if (self->state.mode == federation_mode::fedbuff) {
          // Delta to the model we started from; `model` keeps it alive.
          auto& p = *out.params;
          for (size_t i = 0; i < p.size(); ++i)
            p[i] -= model.values[i];
          up.model.kind = tensor_kind::delta;
        } else {
          up.model.kind = tensor_kind::params;
        }
        if (out.params) {
          up.model.values = span<const float>{*out.params};
          up.model.owner = out.params;
        }
        if (s.slowdown > 1) {
          // Hold the update until the simulated extra time has passed.
          self->state.held = std::move(up);
          self->delayed_send(
            self, to_timespan(out.metrics.train_seconds * (s.slowdown - 1)),
            done_atom::value);
          return;
        }
        release(self, s, upstream, std::move(up));
      },
      [=](caf::error& err) {
        report_failure(self, s, upstream, log, round, err);
      });
}

/// Client-side evaluation of `m` on the held-out samples; answers
/// EvalResult, or an Error (code not_implemented) without held-out data.
void start_eval(client_actor* self, const client_settings& s,
                const caf::actor& upstream, const caf::actor& pool,
                const loggers& log, evaluate_msg& m) {
  const auto round = m.round;
  if (!s.holdout || s.holdout->empty()) {
    send_env(self, upstream,
             error_msg{static_cast<uint16_t>(errc::not_implemented),
                       s.id + " has no held-out data to evaluate on", s.id,
                       round});
    return;
  }
  client_eval_input in{model_state{m.model_version, m.model.values,
                                   m.model.owner},
                       s.holdout};
  self->request(pool, caf::infinite, std::move(in))
    .then(
      [=](eval_output& out) {
        send_env(self, upstream,
                 eval_result_msg{s.id, round, out.num_samples, out.loss,
                                 out.accuracy});
      },
      [=](caf::error& err) {
        log.node->warn("client {}: evaluation failed: {}", s.id,
                       describe(err));
        send_env(self, upstream,
                 error_msg{static_cast<uint16_t>(errc::not_implemented),
                           s.id + ": evaluation failed: " + describe(err),
                           s.id, round});
      });
}

caf::behavior client_behavior(client_actor* self, client_settings s,
                              caf::actor upstream, caf::actor pool,
                              loggers log) {
  if (s.welcomed_in) {
    self->state.welcomed = true;
    self->state.mode = *s.welcomed_in;
  } else {
    send_env(self, upstream,
             client_join(s.id, s.samples ? s.samples->size() : 0, s.layout));
  }
  self->state.comp = s.comp ? s.comp : make_client_compressor(s);
  return {
    [=](deliver_atom, envelope& env) {
      auto& st = self->state;
      auto& body = env.body;
      if (auto* w = std::get_if<welcome_msg>(&body)) {
        st.welcomed = true;
        st.mode = w->mode;
        log.node->debug("client {} joined {} ({}) at model version {}", s.id,
                        w->server_id, to_string(w->mode), w->model_version);
        if (!st.busy)
          ask_for_model(self, s, upstream);
      } else if (auto* act = std::get_if<activation_msg>(&body)) {
        if (st.busy) {
          log.node->warn("client {}: activation for round {} while still "
                         "training; ignored",
                         s.id, act->round);
          return;
        }
        start_fit(self, s, upstream, pool, log, act->round,
                  act->model_version, std::move(act->model), act->config,
                  act->control);
      } else if (auto* m = std::get_if<model_msg>(&body)) {
        if (st.busy) {
          log.node->debug("client {}: model while training; ignored", s.id);
          return;
        }
        start_fit(self, s, upstream, pool, log, 0, m->model_version,
                  std::move(m->model), m->config, tensor{});
      } else if (auto* ev = std::get_if<evaluate_msg>(&body)) {
        start_eval(self, s, upstream, pool, log, *ev);
      } else if (auto* x = std::get_if<exit_msg>(&body)) {
        log.node->debug("client {} exits: {}", s.id, x->reason);
        self->quit();
      } else if (auto* e = std::get_if<error_msg>(&body)) {
        log.node->error("client {}: upstream refused: {}", s.id, e->message);
        if (!st.welcomed)
          self->quit(join_refusal(*e));
      } else {
        log.node->warn("client {}: unexpected {} ignored", s.id,
                       message_name(body));
      }
    },
    [=](done_atom) {
      auto& held = self->state.held;
      if (!held)
        return;
      auto up = std::move(*held);
      held.reset();
      release(self, s, upstream, std::move(up));
    },
    [=](lost_atom, const std::string&, const caf::error& err) {
      log.node->error("client {}: upstream lost: {}", s.id, describe(err));
      self->quit(err);
    },
  };
}

} // namespace

join_msg client_join(const std::string& id, uint64_t num_samples,
                     const model_layout& layout) {
  join_msg join;
  join.node_id = id;
  join.role = node_role::client;
  join.capabilities = {"train"};
  join.num_samples = num_samples;
  join.layout_hash = layout.hash();
  join.numel = layout.numel();
  return join;
}

caf::error join_refusal(const error_msg& e) {
  return make_fl_error(e.code == static_cast<uint16_t>(errc::layout_mismatch)
                         ? errc::layout_mismatch
                         : errc::unauthorized,
                       e.message);
}

std::shared_ptr<compressor> make_client_compressor(const client_settings& s) {
  if (s.compression.method == "none")
    return nullptr;
  return std::make_shared<compressor>(
    s.compression, s.layout.numel(),
    s.seed * 0x9e3779b97f4a7c15ull + std::hash<std::string>{}(s.id));
}

caf::actor spawn_client(caf::actor_system& sys, client_settings s,
                        caf::actor upstream, caf::actor pool, loggers log) {
  return sys.spawn(client_behavior, std::move(s), std::move(upstream),
                   std::move(pool), std::move(log));
}

} // namespace fl
