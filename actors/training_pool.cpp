#include "actors/training_pool.hpp"

#include <thread>

#include <caf/actor_pool.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/interfaces.hpp"
#include "runtime/errors.hpp"

namespace fl {

namespace {

// One trainer per worker, touched only from the worker's own thread.
caf::behavior training_worker(caf::event_based_actor*,
                              std::shared_ptr<trainer> impl, loggers log) {
  return {
    [impl, log](fit_input& in) -> caf::expected<fit_output> {
      auto out = impl->fit(in);
      if (!out)
        log.train->warn("fit failed: {}", describe(out.error()));
      return out;
    },
    [impl](eval_input& in) -> caf::expected<eval_output> {
      return impl->evaluate(span<const float>{*in.params});
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
