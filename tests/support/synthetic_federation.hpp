#pragma once

#include <chrono>
#include <string>

#include <catch2/catch.hpp>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/client.hpp"
#include "actors/interfaces.hpp"
#include "runtime/core/flat_model.hpp"
#include "runtime/training/synthetic_trainer.hpp"

namespace fl::test {

/// The model size of the synthetic federations in tests.
constexpr uint64_t synthetic_model_size = 1000;

/// The layout of a synthetic model with `numel` parameters.
inline model_layout synthetic_layout(uint64_t numel = synthetic_model_size) {
  return synthetic_trainer{numel}.layout();
}

/// A Join as a scripted client of the synthetic federation sends it.
inline join_msg synthetic_join(const std::string& id,
                               uint64_t numel = synthetic_model_size) {
  join_msg j{id, node_role::client, {}, "", 50, protocol_version};
  auto layout = synthetic_layout(numel);
  j.layout_hash = layout.hash();
  j.numel = layout.numel();
  return j;
}

/// Client i of a synthetic federation: 50 samples [50 i, 50 i + 50),
/// learning rate 0.5 (the synthetic quadratic converges in a few steps).
inline client_settings synthetic_client(uint64_t i) {
  client_settings c;
  c.id = "client-" + std::to_string(i);
  c.layout = synthetic_layout();
  auto samples = std::make_shared<std::vector<int64_t>>();
  for (int64_t k = 0; k < 50; ++k)
    samples->push_back(static_cast<int64_t>(i * 50) + k);
  c.samples = samples;
  c.fit.lr = 0.5;
  return c;
}

/// The seeded initial model of a synthetic trainer with `numel` parameters.
inline flat_model synthetic_initial_model(uint64_t numel) {
  synthetic_trainer t{numel};
  flat_model m{t.layout()};
  auto params = t.initial_params(0);
  m.assign(span<const float>{params});
  return m;
}

/// Waits until `whom` ends, failing the test if that takes over 120 s (a
/// guard against hangs, not a timing assertion). Returns the exit reason.
inline caf::error await_end(caf::actor_system& sys, const caf::actor& whom) {
  caf::error reason;
  caf::scoped_actor self{sys};
  self->monitor(whom);
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                caf::after(std::chrono::seconds(120)) >>
                  [&] { FAIL("the federation did not finish"); });
  return reason;
}

} // namespace fl::test
