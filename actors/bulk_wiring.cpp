#include "actors/bulk_wiring.hpp"

#include "actors/bulk_events.hpp"
#include "runtime/aggregation/aggregate.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

namespace fl {

std::shared_ptr<net::bulk_link>
start_bulk_link(int fd, caf::actor_addr connector, caf::actor_addr peer,
                std::shared_ptr<receive_budget> buffers,
                uint64_t max_message_bytes, outbox& out) {
  // The hooks run on the link's threads: they reach the connector by
  // message, through a weak handle (a link may outlive its connector).
  auto tell = [connector](auto event) {
    if (auto a = caf::actor_cast<caf::actor>(connector))
      caf::anon_send(a, bulk_atom::value, std::move(event));
  };
  net::bulk_hooks h;
  h.allocate = [buffers](uint64_t n, const std::atomic<bool>& stop) {
    return buffers->allocate_waiting(n, stop);
  };
  h.valid = [](span<const float> xs) { return all_finite(xs); };
  h.arrived = [tell, peer](uint64_t id, std::shared_ptr<float> v, uint64_t n) {
    tell(bulk_arrival{peer, id, std::move(v), n});
  };
  h.sent = [tell, peer](uint64_t id) { tell(bulk_sent{peer, id}); };
  h.closed = [tell, peer](const caf::error& why) {
    tell(bulk_closed{peer, why});
  };
  net::bulk_limits limits;
  limits.max_values = max_message_bytes / sizeof(float);
  auto link = std::make_shared<net::bulk_link>(fd, std::move(h), limits);
  std::weak_ptr<net::bulk_link> weak = link;
  out.use_bulk([weak](uint64_t id, span<const float> xs,
                      std::shared_ptr<const void> owner) {
    if (auto l = weak.lock())
      l->send(id, xs, std::move(owner));
  });
  return link;
}

} // namespace fl
