// libFuzzer target: a cluster file for `fl-node launch`, parsed and turned
// into the nodes' command lines.

#include "cli/cluster_file.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto c = fl::cli::parse_cluster(text, "fuzz.toml");
  if (c) {
    // cluster_commands wants one port per node (as launch passes them).
    std::vector<int64_t> ports;
    for (const auto& n : c->nodes)
      ports.push_back(n.port);
    (void)fl::cli::cluster_commands(*c, "fl-node", ports);
  }
  return 0;
}
