#pragma once

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "messages/codec.hpp"
#include "messages/outbox.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/net/gatekeeper.hpp"

namespace fl {

struct upstream_settings {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string token;              ///< put into every join that passes
  double connect_timeout_s = 10;  ///< per connection attempt
  int max_attempts = 30;          ///< consecutive failed attempts before giving up
  double backoff_initial_s = 0.2; ///< doubles per failure...
  double backoff_max_s = 5;       ///< ...up to this
  /// Failed attempts are logged at debug level for this long, then as
  /// warnings (every 10 s) with the address and the reason.
  double quiet_retry_s = 3;
  /// Framing, chunk size and window of what goes up.
  send_settings send;
  /// Accept the server's offer of a bulk link (runtime/net/bulk_link),
  /// dialed at `host` and the offered port.
  bool bulk = true;
  decode_limits limits;
  /// Answers CAF's connect request `(connect_atom, host, port) -> (node_id,
  /// strong_actor_ptr, set<string>)`; null = this system's middleman.
  /// Tests put a fake server behind it.
  caf::actor dialer;
  /// The dialer's gate: when the node at host:port refused this node's
  /// credentials, the connector gives up at once instead of retrying.
  std::shared_ptr<net::gatekeeper> gate;
};

/// Spawns the upstream connector of a process that hosts clients (or a
/// scheduler): it connects to the server's published downstream connector
/// from inside the actor (non-blocking, with a timeout per attempt and
/// exponential back-off), queues outgoing messages until connected, and on
/// connection loss reconnects and re-sends every join it has seen so the
/// local nodes rejoin. Local nodes talk to it as if it were the server:
/// `(deliver_atom, envelope)`; a join registers the sender under its node id.
/// Frames from upstream (and from no one else) are reassembled, validated
/// (codec) and delivered to the local node named by `target`. When it gives up it sends
/// `(lost_atom, "upstream", error)` to every local node and ends.
caf::actor spawn_upstream_connector(caf::actor_system& sys,
                                    upstream_settings s, loggers log);

} // namespace fl
