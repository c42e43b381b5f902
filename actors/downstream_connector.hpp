#pragma once

#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "messages/codec.hpp"
#include "runtime/core/logging.hpp"

namespace fl {

struct downstream_settings {
  std::string node_id = "server"; ///< the owner's id, for error texts
  std::string token;              ///< required join token; "" = none
  size_t chunk_bytes = size_t{64} << 20;
  decode_limits limits;
};

/// Spawns the downstream connector of a server (or scheduler) `owner`: the
/// actor that gets published. It is the only place where bytes from
/// downstream peers are decoded and validated: it reassembles chunks,
/// checks every field (codec), admits joins with the right token and
/// protocol version, refuses messages that claim a node id the sending peer
/// did not join with, monitors peers and reports each lost node to the owner
/// as `(lost_atom, id, error)`. In the other direction it encodes the
/// owner's `(deliver_atom, envelope)` for `envelope.target` into frames
/// (chunked when larger than chunk_bytes). Ends when the owner ends.
caf::actor spawn_downstream_connector(caf::actor_system& sys, caf::actor owner,
                                      downstream_settings s, loggers log);

} // namespace fl
