#pragma once

#include <string>

namespace fl::net {

/// True for the names and addresses of this host's loopback interface
/// (localhost, ::1, 127.0.0.0/8): nothing sent there leaves the host.
inline bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

} // namespace fl::net
