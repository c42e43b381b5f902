#pragma once

// An actor system driven by CAF's deterministic test coordinator: no worker
// threads, no wall clock. Messages are delivered only when a test calls
// run(); delayed messages (deadlines) fire only on expire_timers(). Actors
// under test must not be detached (they would get threads of their own).

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "support/log_capture.hpp"

namespace fl::test {

class deterministic_config : public caf::actor_system_config {
public:
  deterministic_config() {
    set("scheduler.policy", caf::atom("testing"));
    set("logger.file-verbosity", caf::atom("quiet"));
  }
};

struct deterministic_system {
  deterministic_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched{
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())};
  log_capture logs;

  deterministic_system() {
    // Actors a test leaves waiting (a server that waits for joins) must
    // not block the end of the test.
    sys.await_actors_before_shutdown(false);
  }

  /// Delivers messages until no actor has one left. Returns how many.
  size_t run() { return sched.run(); }

  /// Fires every pending delayed message (deadlines, grace timers), then
  /// delivers until quiet.
  size_t expire_timers() {
    auto n = sched.trigger_timeouts();
    run();
    return n;
  }
};

} // namespace fl::test
