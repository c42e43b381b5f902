#include "runtime/core/actor_system.hpp"

#include <chrono>

#include <caf/io/middleman.hpp>

#include "runtime/core/errors.hpp"

namespace fl {

caf::timespan to_timespan(double seconds) {
  return std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>{seconds});
}

base_system_config::base_system_config(const node_config& cfg) {
  load<caf::io::middleman>();
  add_error_category(caf::atom("fl"),
                     [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                       return describe(caf::error{code, caf::atom("fl"), ctx});
                     });
  set("middleman.heartbeat-interval", to_timespan(cfg.transport.heartbeat_s));
  set("middleman.connection-timeout",
      to_timespan(cfg.transport.connection_timeout_s));
  // Deserialise frames on the I/O thread: saves one copy of model bytes per
  // remote message (see toolchain notes, P7).
  set("middleman.workers", size_t{0});
}

} // namespace fl
