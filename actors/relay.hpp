#pragma once

#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "runtime/core/logging.hpp"

namespace fl {

struct relay_settings {
  std::string id = "relay";
  double exit_grace_s = 10;
};

/// Spawns a relay: the middle node of a hierarchy in the async modes
/// (FedAsync, FedBuff), where there are no rounds to pre-aggregate. It
/// forwards every member's join, request, update and error to `upstream`
/// (a server or an upstream connector) and every reply for a member back
/// down, so the server sees each client while one connection per relay host
/// carries them all. Member ids are unique per relay (a second route for a
/// live id is refused here); the server admits and validates the rest. It
/// ends once every member was let go (Exit or Error from upstream) or lost,
/// or when its upstream is gone (Exit to the group).
caf::actor spawn_relay(caf::actor_system& sys, relay_settings s,
                       caf::actor upstream, loggers log);

} // namespace fl
