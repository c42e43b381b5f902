#pragma once

#include <cstdint>
#include <string>

namespace fl {

/// A client the server may sample: its id and the samples it announced.
struct client_info {
  std::string id;
  uint64_t num_samples = 0;
};

} // namespace fl
