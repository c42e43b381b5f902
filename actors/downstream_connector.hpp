#pragma once

#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "messages/codec.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/net/gatekeeper.hpp"

namespace fl {

struct downstream_settings {
  std::string node_id = "server"; ///< the owner's id, for error texts
  std::string token;              ///< required join token; "" = none
  size_t chunk_bytes = size_t{64} << 20;
  decode_limits limits;
  /// Who proved which identity on which connection; a join is admitted
  /// only under a node id that identity is granted. Null = no check (in
  /// one process, or tests).
  std::shared_ptr<net::gatekeeper> gate;
};

/// A peer that has joined nothing yet may send only a join, and one that
/// fits in this many bytes: it cannot make the connector buffer a transfer.
constexpr uint64_t max_pre_join_bytes = uint64_t{1} << 20;

/// Spawns the downstream connector of a server (or scheduler) `owner`: the
/// actor that gets published. It is the only place where bytes from
/// downstream peers are decoded and validated: it reassembles chunks,
/// checks every field (codec), admits joins with the right token and
/// protocol version under a node id the sender's proven identity may use,
/// refuses messages that claim a node id the sending peer did not join
/// with, lets a peer that joined nothing send only a small join, monitors peers and reports each lost node to the owner
/// as `(lost_atom, id, error)`. In the other direction it encodes the
/// owner's `(deliver_atom, envelope)` for `envelope.target` into frames
/// (chunked when larger than chunk_bytes). Ends when the owner ends.
caf::actor spawn_downstream_connector(caf::actor_system& sys, caf::actor owner,
                                      downstream_settings s, loggers log);

} // namespace fl
