#pragma once

// Helpers for tests of the aggregation actor: small models, updates and a
// deterministic fixture that spawns the actor with given settings.

#include <memory>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "actors/aggregation_actor.hpp"
#include "support/deterministic.hpp"

namespace fl::test {

/// A 4-value model in two layers.
inline model_layout layout4() {
  model_layout l;
  l.add("w", {3});
  l.add("b", {1});
  return l;
}

inline std::shared_ptr<std::vector<float>> vec(std::vector<float> xs) {
  return std::make_shared<std::vector<float>>(std::move(xs));
}

inline model_state version(uint64_t v, std::vector<float> xs) {
  auto p = vec(std::move(xs));
  return model_state{v, span<const float>{*p}, p};
}

inline agg_update update(const std::string& id, std::vector<float> xs,
                         double w, tensor_kind kind = tensor_kind::params) {
  auto p = vec(std::move(xs));
  agg_update u;
  u.node_id = id;
  u.kind = kind;
  u.values = span<const float>{*p};
  u.owner = p;
  u.weight = w;
  return u;
}

inline std::vector<float> values(const model_state& m) {
  return {m.values.begin(), m.values.end()};
}

/// The aggregation actor on the deterministic coordinator (not detached),
/// with a one-thread CPU aggregator.
struct aggregation_fixture : deterministic_system {
  aggregation_actor agg;

  explicit aggregation_fixture(guard_settings g = {}) {
    aggregation_settings s;
    s.guard = g;
    start(std::move(s));
  }

  explicit aggregation_fixture(aggregation_settings s) { start(std::move(s)); }

  ~aggregation_fixture() {
    caf::anon_send_exit(agg, caf::exit_reason::user_shutdown);
    run();
  }

  /// Sends `steps` from a driver actor and delivers everything.
  template <class F>
  void drive(F steps) {
    sys.spawn([=](caf::event_based_actor* self) { steps(self); });
    run();
  }

private:
  void start(aggregation_settings s) {
    s.detached = false;
    agg = spawn_aggregation_actor(sys, layout4(),
                                  std::shared_ptr<aggregator>{
                                    make_cpu_aggregator(1)},
                                  std::move(s), logs.log());
  }
};

} // namespace fl::test
