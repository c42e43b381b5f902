#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/interfaces.hpp"

namespace fl::test {

/// An evaluator that answers only when it gets (done_atom): then every
/// evaluation it holds gets {1 sample, loss 0.25, accuracy 0.5}.
/// `max_held` records the most evaluations it held at once.
inline caf::actor spawn_lagging_evaluator(caf::actor_system& sys,
                                          std::shared_ptr<size_t> max_held) {
  return sys.spawn([max_held](caf::event_based_actor* self) {
    auto held = std::make_shared<std::vector<caf::response_promise>>();
    return caf::behavior{
      [self, held, max_held](eval_input&) {
        held->push_back(self->make_response_promise());
        *max_held = std::max(*max_held, held->size());
        return held->back();
      },
      [held](done_atom) {
        for (auto& rp : *held)
          rp.deliver(eval_output{1, 0.25, 0.5});
        held->clear();
      },
    };
  });
}

} // namespace fl::test
