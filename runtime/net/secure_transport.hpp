#pragma once

#include "runtime/core/logging.hpp"
#include "runtime/net/gatekeeper.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <cstdint>
#include <memory>
#include <string>

namespace fl::net {

/// A node's guarded transport. Every connection it makes or accepts is a
/// guarded_scribe behind `gate`; the actor runtime's own remoting (BASP,
/// proxies, heartbeats) runs unchanged on top, so remote actors still span
/// hosts transparently.
struct secure_transport {
  std::shared_ptr<gatekeeper> gate;
  /// Answers CAF's middleman requests `(connect_atom, host, port)` and
  /// `(publish_atom, ...)` with guarded connections: pass it as an
  /// upstream connector's dialer.
  caf::actor dialer;
  /// Sweeps the connections once per second (timeouts, revocations) and
  /// re-reads the access file when it changes.
  caf::actor warden;

  /// Publishes `whom` on host:port (0 = any free port) behind the gate.
  /// Errors: from CAF (port in use, bad address).
  caf::expected<uint16_t> publish(caf::actor_system& sys,
                                  const caf::actor& whom, uint16_t port,
                                  const std::string& host) const;

  /// Stops the warden. The dialer ends with the actor system (it is linked
  /// to CAF's own middleman actor, which the middleman kills last).
  void stop() const;
};

/// Starts the transport in `sys` (which must have loaded the middleman).
secure_transport start_secure_transport(caf::actor_system& sys, gate_settings s,
                                        loggers log);

} // namespace fl::net
