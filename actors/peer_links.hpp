#pragma once

#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/upstream_connector.hpp"
#include "messages/types.hpp"
#include "runtime/core/logging.hpp"

namespace fl {

struct peer_links_settings {
  std::string id; ///< this peer's id (its Join on every link)
  /// Every peer's address, by index; the template's host and port are
  /// replaced per neighbor (token, timeouts and limits are kept).
  std::vector<std::pair<std::string, uint16_t>> addresses;
  upstream_settings link;
  join_msg join; ///< what this peer announces (role peer, layout, numel)
};

/// Spawns the outgoing side of a peer across processes: one upstream
/// connector per neighbor it sends to, made on first use (so a neighbor
/// that starts later is reached through the connector's retries).
///   in : (deliver_atom, envelope) from the peer, for envelope.target
///        ("peer-<j>": sent on j's link, whose first message is our Join)
///        (deliver_atom, envelope) from a link: handed to the peer
///        (lost_atom, "upstream", error) from a link that gave up: the
///        link is dropped (a later message makes a new one) and the peer
///        gets (lost_atom, "peer-<j>", error)
/// It ends when `peer` ends.
caf::actor spawn_peer_links(caf::actor_system& sys, peer_links_settings s,
                            caf::actor peer, loggers log);

} // namespace fl
