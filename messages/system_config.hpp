#pragma once

#include "runtime/core/actor_system.hpp"

namespace fl {

/// The actor-system configuration every fedactor process uses: the base
/// configuration (middleman, error category, heartbeats) plus the one type
/// that crosses process boundaries, `wire_frame`. Every process must
/// register it, or frames between processes are silently lost.
class system_config : public base_system_config {
public:
  explicit system_config(const node_config& cfg);
};

} // namespace fl
