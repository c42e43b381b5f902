#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

#include "runtime/config.hpp"

namespace fl {

/// The actor-system configuration every fedactor process uses: loads the
/// middleman (remote actors), registers the wire frame type and the fl error
/// category, and turns on CAF's node heartbeats and connection timeout (both
/// are off by default in CAF 0.17, which would leave a silently vanished
/// peer undetected).
class system_config : public caf::actor_system_config {
public:
  /// Takes the heartbeat interval and connection timeout from
  /// `cfg.transport`.
  explicit system_config(const node_config& cfg);
};

/// `seconds` (fractional) as a CAF timespan, for timeouts and delayed sends.
caf::timespan to_timespan(double seconds);

} // namespace fl
