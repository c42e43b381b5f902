#pragma once

#include <caf/error.hpp>
#include <string>
#include <vector>

namespace fl::net {

/// One node to issue a startup kit for: its identity (the certificate's
/// common name) and the node ids it may join as (see id_grants; none = only
/// its name).
struct kit_request {
  std::string name;
  std::vector<std::string> grants;
};

/// Parses "NAME" or "NAME=GRANT[+GRANT...]" (e.g. "host-a=client-0..7").
/// Errors: `invalid_config`.
caf::expected<kit_request> parse_kit_request(const std::string& text);

/// Creates (or reuses) the federation's CA in `dir` (ca.pem, ca.key) and a
/// startup kit per node in `dir/NAME/`: ca.pem, cert.pem, key.pem and a
/// per-node token; folders are 0700 and secrets 0600. Appends each node to
/// `dir/access.toml` (its token and grants) for the operator's --access.
/// Keys are EC P-256, certificates valid for `days` from now plus
/// `start_days` (negative in tests: a certificate that already expired).
/// An existing kit is never overwritten.
/// Errors: `invalid_config` (a name or grant), `io_error` (files).
caf::error make_startup_kits(const std::string& dir,
                             const std::vector<kit_request>& nodes, int days,
                             int start_days = 0);

} // namespace fl::net
