#pragma once

#include "messages/outbox.hpp"
#include "messages/receive_budget.hpp"
#include "runtime/net/bulk_link.hpp"

#include <caf/actor_addr.hpp>
#include <cstdint>
#include <memory>

namespace fl {

/// Starts a connector's bulk link on the connected socket `fd`: received
/// models are written into buffers of `buffers` (waiting while its budget
/// is full), checked for finite values and reported to the connector
/// `connector` as `(bulk_atom, bulk_arrival/bulk_sent/bulk_closed)` naming
/// `peer` (unset for the upstream); transfers above `max_message_bytes` are
/// refused. From now on `out` hands big models' values to the link.
std::shared_ptr<net::bulk_link>
start_bulk_link(int fd, caf::actor_addr connector, caf::actor_addr peer,
                std::shared_ptr<receive_budget> buffers,
                uint64_t max_message_bytes, outbox& out);

} // namespace fl
