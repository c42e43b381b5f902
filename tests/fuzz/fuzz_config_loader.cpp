// libFuzzer target: a node's TOML configuration file (and the checks that
// follow loading it). Bad files must give errors with a line, never crash.

#include "runtime/core/config.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  fl::node_config cfg;
  if (!fl::load_toml_string(cfg, text, "fuzz.toml"))
    (void)fl::validate(cfg);
  return 0;
}
