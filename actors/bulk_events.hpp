#pragma once

#include "messages/atoms.hpp"

#include <caf/actor_addr.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <memory>
#include <unistd.h>

namespace fl {

/// What a connector's bulk link (runtime/net/bulk_link) tells the connector,
/// from the link's own threads or a dialer, as `(bulk_atom, event)`.
/// Local to one process.

/// A connected bulk socket for the peer at `peer` (downstream) or for the
/// upstream (`peer` unset). The socket is closed if nobody takes it.
struct bulk_socket {
  struct owned_fd {
    int fd = -1;
    ~owned_fd() {
      if (fd >= 0)
        ::close(fd);
    }
  };
  std::shared_ptr<owned_fd> socket;
  caf::actor_addr peer;

  static bulk_socket of(int fd, caf::actor_addr peer) {
    auto s = std::make_shared<owned_fd>();
    s->fd = fd;
    return bulk_socket{std::move(s), std::move(peer)};
  }

  /// Takes the socket (once).
  int release() {
    int fd = socket->fd;
    socket->fd = -1;
    return fd;
  }
};

/// A transfer's values arrived whole and checked on `peer`'s bulk link.
struct bulk_arrival {
  caf::actor_addr peer;
  uint64_t transfer_id = 0;
  std::shared_ptr<float> values;
  uint64_t numel = 0;
};

/// `peer`'s bulk link wrote the values of one transfer.
struct bulk_sent {
  caf::actor_addr peer;
  uint64_t transfer_id = 0;
};

/// `peer`'s bulk link ended: `why` is none when it was closed in order.
struct bulk_closed {
  caf::actor_addr peer;
  caf::error why;
};

using bulk_atom = caf::atom_constant<caf::atom("fl_bulk")>;

} // namespace fl

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::bulk_socket)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::bulk_arrival)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::bulk_closed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::bulk_sent)
