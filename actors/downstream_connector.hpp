#pragma once

#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "messages/codec.hpp"
#include "messages/outbox.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/net/gatekeeper.hpp"

namespace fl {

struct downstream_settings {
  std::string node_id = "server"; ///< the owner's id, for error texts
  std::string token;              ///< required join token; "" = none
  /// Framing, chunk size and window of what goes down to peers.
  send_settings send;
  decode_limits limits;
  /// Model bytes held at once in streamed transfers from peers, received
  /// or waiting to be folded (receive_budget); 0 = no bound. A server that
  /// folds on arrival keeps memory bounded with it however many clients
  /// send at once.
  uint64_t receive_budget_bytes = 0;
  /// Offer each peer that joins a bulk link (runtime/net/bulk_link) on this
  /// address: big models' values then travel on a direct TCP stream beside
  /// the actor runtime's connection. "" = no bulk links (values travel as
  /// pieces on the connection, e.g. inside TLS).
  std::string bulk_host;
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
/// as `(lost_atom, id, error)`. Streamed models are written into one
/// buffer per transfer as their pieces arrive, each piece answered with a
/// credit; within `receive_budget_bytes`. In the other direction it frames
/// the owner's `(deliver_atom, envelope)` for `envelope.target` through one
/// outbox per peer (big models streamed from the shared model buffer, at
/// most a window of pieces unanswered). Ends when the owner ends.
caf::actor spawn_downstream_connector(caf::actor_system& sys, caf::actor owner,
                                      downstream_settings s, loggers log);

} // namespace fl
