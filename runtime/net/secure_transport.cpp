#include "runtime/net/secure_transport.hpp"

#include "runtime/core/errors.hpp"
#include "runtime/net/guarded_connection.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/interfaces.hpp>
#include <caf/scoped_actor.hpp>
#include <chrono>
#include <set>

namespace fl::net {

namespace {

using default_mpx = caf::io::network::default_multiplexer;

default_mpx& multiplexer_of(caf::actor_system& sys) {
  return static_cast<default_mpx&>(sys.middleman().backend());
}

/// CAF's middleman actor with every connection guarded (the approach of
/// CAF's OpenSSL module, which swaps in its own connect and open).
class guarded_middleman : public caf::io::middleman_actor_impl {
public:
  guarded_middleman(caf::actor_config& cfg, caf::actor broker,
                    std::shared_ptr<gatekeeper> gate)
      : caf::io::middleman_actor_impl(cfg, std::move(broker)),
        gate_(std::move(gate)) {}

  const char* name() const override { return "fl.guarded_middleman"; }

protected:
  caf::expected<caf::io::scribe_ptr> connect(const std::string& host,
                                             uint16_t port) override {
    return dial_guarded(multiplexer_of(system()), gate_, host, port);
  }

  caf::expected<caf::io::doorman_ptr> open(uint16_t port, const char* addr,
                                           bool reuse) override {
    auto fd = caf::io::network::new_tcp_acceptor_impl(port, addr, reuse);
    if (!fd)
      return std::move(fd.error());
    return caf::make_counted<guarded_doorman>(multiplexer_of(system()), *fd,
                                              gate_);
  }

private:
  std::shared_ptr<gatekeeper> gate_;
};

caf::behavior warden(caf::event_based_actor* self,
                     std::shared_ptr<gatekeeper> gate) {
  self->delayed_send(self, std::chrono::seconds(1), caf::tick_atom::value);
  return {
      [self, gate](caf::tick_atom) {
        gate->reload();
        // Connections live on the I/O thread: sweep them there.
        multiplexer_of(self->home_system()).post([gate] { gate->sweep(); });
        self->delayed_send(self, std::chrono::seconds(1),
                           caf::tick_atom::value);
      },
  };
}

} // namespace

secure_transport start_secure_transport(caf::actor_system& sys, gate_settings s,
                                        loggers log) {
  secure_transport t;
  t.gate = std::make_shared<gatekeeper>(std::move(s), std::move(log));
  auto broker
      = sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  t.dialer = caf::actor_cast<caf::actor>(
    sys.spawn<guarded_middleman, caf::detached + caf::hidden>(broker, t.gate));
  // CAF's middleman actor ignores exit messages and is killed by the
  // middleman when the actor system shuts down, after every other actor
  // ended. Linked to it, the dialer goes at the same moment: it serves
  // reconnects until then and never keeps the shutdown waiting.
  sys.middleman().actor_handle()->add_link(
    caf::actor_cast<caf::abstract_actor*>(t.dialer));
  t.warden = sys.spawn<caf::hidden>(warden, t.gate);
  return t;
}

caf::expected<uint16_t>
secure_transport::publish(caf::actor_system& sys, const caf::actor& whom,
                          uint16_t port, const std::string& host) const {
  caf::scoped_actor self{sys};
  caf::expected<uint16_t> result{uint16_t{0}};
  self->request(dialer, caf::infinite, caf::publish_atom::value, port,
                caf::actor_cast<caf::strong_actor_ptr>(whom),
                std::set<std::string>{}, host, true)
      .receive([&](uint16_t bound) { result = bound; },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

void secure_transport::stop() const {
  caf::anon_send_exit(warden, caf::exit_reason::user_shutdown);
}

} // namespace fl::net
