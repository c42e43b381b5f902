#pragma once

#include "runtime/core/config.hpp"
#include "runtime/core/logging.hpp"
#include "runtime/net/secure_transport.hpp"

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <memory>
#include <string>
#include <vector>

namespace fl::cli {

/// The node's guard from its config: TLS kit (--tls), access file
/// (--access), identity (--identity, else the certificate's name, else the
/// node id, else the host name), its token (--token-file, else --token) and
/// the connection limits. `listens` applies the safe default: a listener on
/// a non-loopback address with neither TLS, a token nor an access file is
/// refused unless --insecure, which is then announced loudly.
/// Errors: `invalid_config` / `io_error` naming the file or flag.
caf::expected<net::gate_settings>
gate_settings_for(const node_config& cfg, bool listens, const loggers& log);

/// Stops a transport when its owner goes (see secure_transport::stop).
struct transport_stopper {
  void operator()(net::secure_transport* t) const {
    t->stop();
    delete t;
  }
};

/// The process's transport, stopped on every way out of the scope that
/// holds it (declare it after the actor system).
using owned_transport
    = std::unique_ptr<net::secure_transport, transport_stopper>;

/// Starts the guarded transport of this process and logs its mode.
owned_transport start_node_transport(caf::actor_system& sys,
                                     net::gate_settings g, const loggers& log);

} // namespace fl::cli

namespace fl::cli {

/// `fl-node certs`: the CA and a startup kit per node in `dir` (see
/// net::make_startup_kits); prints what it wrote and how to use it.
/// Returns the exit code (2 on a usage error, 1 on a file error).
int run_certs(const std::string& dir, const std::vector<std::string>& nodes,
              int days);

} // namespace fl::cli
