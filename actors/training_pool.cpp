#include "actors/training_pool.hpp"

#include <thread>

#include <caf/actor_pool.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/interfaces.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

namespace {

/// Runs `f`, turning an exception into a `training_failed` error.
template <class F>
auto guarded(const char* what, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return make_fl_error(errc::training_failed,
                         std::string{what} + " threw: " + e.what());
  } catch (...) {
    return make_fl_error(errc::training_failed,
                         std::string{what} + " threw a non-standard "
                                             "exception");
  }
}

// One trainer per worker, touched only from the worker's own thread.
caf::behavior training_worker(caf::event_based_actor*,
                              std::shared_ptr<trainer> impl, loggers log) {
  return {
    // A trainer that throws fails this request only; the worker (and its
    // place in the pool) survives.
    [impl, log](fit_input& in) -> caf::expected<fit_output> {
      auto out = guarded("fit", [&] { return impl->fit(in); });
      if (out && in.finish)
        if (auto err = in.finish(in, *out))
          out = std::move(err);
      if (!out)
        log.train->warn("fit failed: {}", describe(out.error()));
      return out;
    },
    [impl, log](client_eval_input& in) -> caf::expected<eval_output> {
      auto out = guarded("evaluate", [&] {
        return impl->evaluate_samples(in.model.values, *in.samples);
      });
      if (!out)
        log.train->warn("client evaluation failed: {}",
                        describe(out.error()));
      return out;
    },
    [impl, log](eval_input& in) -> caf::expected<eval_output> {
      auto out = guarded("evaluate", [&] {
        return impl->evaluate(in.model.values);
      });
      if (!out)
        log.train->warn("evaluation failed: {}", describe(out.error()));
      return out;
    },
  };
}

} // namespace

caf::actor spawn_training_worker(caf::actor_system& sys,
                                 std::unique_ptr<trainer> t, loggers log) {
  std::shared_ptr<trainer> holder{std::move(t)};
  return sys.spawn<caf::detached>(training_worker, holder, std::move(log));
}

caf::actor spawn_training_pool(caf::actor_system& sys, size_t workers,
                               const trainer_factory& make, loggers log) {
  if (workers == 0)
    workers = std::max(1u, std::thread::hardware_concurrency());
  auto factory = [&sys, make, log] {
    return spawn_training_worker(sys, make(), log);
  };
  return caf::actor_pool::make(sys.dummy_execution_unit(), workers, factory,
                               caf::actor_pool::round_robin());
}

} // namespace fl
