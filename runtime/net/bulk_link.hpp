#pragma once

#include "runtime/core/span.hpp"

#include <array>
#include <atomic>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace fl::net {

/// A one-time secret that binds a bulk connection to a peer that already
/// authenticated on the actor runtime's connection (it travels there).
using bulk_ticket = std::array<uint8_t, 32>;

/// A fresh random ticket (OpenSSL's generator).
bulk_ticket make_bulk_ticket();

/// What a bulk link's receiving side needs from its owner. Called on the
/// link's reader thread; each must be thread-safe.
struct bulk_hooks {
  /// A buffer for `numel` floats, blocking until the owner's memory budget
  /// allows it (back-pressure: the sender stalls in TCP meanwhile); null
  /// when `stop` becomes true.
  std::function<std::shared_ptr<float>(uint64_t numel,
                                       const std::atomic<bool>& stop)>
      allocate;
  /// Values a receiver may accept (e.g. all finite).
  std::function<bool(span<const float>)> valid;
  /// A transfer arrived whole and checked: `values` holds `numel` floats.
  std::function<void(uint64_t transfer_id, std::shared_ptr<float> values,
                     uint64_t numel)>
      arrived;
  /// The values of transfer `transfer_id` were written (on the writer
  /// thread): the sender may hand the link the next one.
  std::function<void(uint64_t transfer_id)> sent;
  /// The link failed or closed; no more arrivals. Called once.
  std::function<void(const caf::error&)> closed;
};

/// Limits of a link's receiving side.
struct bulk_limits {
  uint64_t max_values = uint64_t{2} << 30;   ///< floats per transfer
  uint64_t block_values = uint64_t{1} << 20; ///< floats per block (4 MiB)
};

/// A direct byte stream between two connected nodes for model values, next
/// to their actor-runtime connection (which carries everything else, the
/// streamed models' heads included). A sender's values are written to the
/// socket straight from the model buffer and read into the receiver's
/// destination buffer straight from the socket: no copy in user space, no
/// serialisation, the kernel's TCP flow control as back-pressure.
///
/// Wire: a sequence of blocks, each a 40-byte header (transfer id, the
/// transfer's element count, first element, elements in the block, 0;
/// little-endian uint64) and the raw float32 values. Blocks of a transfer
/// are contiguous and in order; a receiver checks every header against the
/// transfer and every block's values (finite) before it counts, and closes
/// the link on any fault. The bytes' integrity is TCP's: they go from the
/// socket straight into their place, through no buffer that could garble
/// them (pieces on the actor runtime's connection carry a checksum).
///
/// One reader and one writer thread per link; both end when the link is
/// destroyed (the socket is shut down first, so neither blocks it).
class bulk_link {
public:
  /// Takes ownership of the connected socket `fd`.
  bulk_link(int fd, bulk_hooks hooks, bulk_limits limits);
  ~bulk_link();

  bulk_link(const bulk_link&) = delete;
  bulk_link& operator=(const bulk_link&) = delete;

  /// Queues `values` as transfer `transfer_id`; `owner` keeps them alive
  /// until written. Never blocks.
  void send(uint64_t transfer_id, span<const float> values,
            std::shared_ptr<const void> owner);

  /// Dials `host:port` and presents `ticket`. Blocking (with `timeout_s`);
  /// call off any actor's thread. Errors: `io_error`, `timeout`.
  static caf::expected<int> dial(const std::string& host, uint16_t port,
                                 const bulk_ticket& ticket, double timeout_s);

private:
  struct job {
    uint64_t id;
    span<const float> values;
    std::shared_ptr<const void> owner;
  };

  void write_loop();
  void read_loop();
  caf::error read_transfer(uint64_t id, uint64_t numel, uint64_t first_count,
                           uint64_t first_reserved);
  void close(const caf::error& why);

  int fd_;
  bulk_hooks hooks_;
  bulk_limits limits_;
  std::atomic<bool> stop_{false};
  std::once_flag closed_once_;
  std::mutex mx_;
  std::condition_variable cv_;
  std::deque<job> jobs_;
  std::thread writer_, reader_;
};

/// Accepts bulk connections on one port: a connection must present a ticket
/// issued by expect() within `ticket_timeout_s`, or it is closed having
/// cost one pending slot and 32 bytes; at most `max_pending` wait at once.
/// A ticket is good for one connection and for `ticket_ttl_s`.
class bulk_listener {
public:
  /// Called on the listener's thread with the connected socket (ownership
  /// passes) of a ticket's holder.
  using on_connected = std::function<void(int fd)>;

  /// Listens on `host` (any port). Errors: `io_error`.
  static caf::expected<std::unique_ptr<bulk_listener>>
  listen(const std::string& host, double ticket_timeout_s = 10,
         size_t max_pending = 64, double ticket_ttl_s = 60);

  ~bulk_listener();

  uint16_t port() const noexcept { return port_; }

  /// A new ticket; its holder's connection goes to `then`.
  bulk_ticket expect(on_connected then);

  /// Connections refused (wrong ticket, too slow, too many at once).
  uint64_t refused() const noexcept { return refused_.load(); }

private:
  bulk_listener(int fd, uint16_t port, double timeout_s, size_t max_pending,
                double ttl_s);
  void loop();

  int fd_;
  uint16_t port_;
  double timeout_s_;
  size_t max_pending_;
  double ttl_s_;
  int wake_[2] = {-1, -1};
  std::atomic<uint64_t> refused_{0};
  std::mutex mx_;
  struct waiting {
    on_connected then;
    double expires; ///< steady seconds
  };
  std::map<bulk_ticket, waiting> tickets_;
  std::thread thread_;
};

} // namespace fl::net
