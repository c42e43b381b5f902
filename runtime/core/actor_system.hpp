#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

#include "runtime/core/config.hpp"

namespace fl {

/// The part of the actor-system configuration that needs no wire types:
/// loads the middleman (remote actors), registers the fl error category, and
/// turns on CAF's node heartbeats and connection timeout (both are off by
/// default in CAF 0.17, which would leave a silently vanished peer
/// undetected). Processes use `fl::system_config` (messages/system_config.hpp),
/// which adds the wire frame type owned by the messages layer.
class base_system_config : public caf::actor_system_config {
public:
  /// Takes the heartbeat interval and connection timeout from
  /// `cfg.transport`.
  explicit base_system_config(const node_config& cfg);
};

/// `seconds` (fractional) as a CAF timespan, for timeouts and delayed sends.
caf::timespan to_timespan(double seconds);

} // namespace fl
