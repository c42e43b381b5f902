#pragma once

#include <cstdint>
#include <string>

namespace fl::cli {

/// `fl-node bench transfer`: model bytes per second between two processes
/// through the engine's own path (guarded transport, connectors, streamed
/// pieces with credits), to set next to a plain TCP socket on the same link
/// (bench/transfer.sh runs both).
struct transfer_bench_options {
  bool serve = false; ///< receive (else send to `to`)
  std::string host = "127.0.0.1";
  uint16_t port = 0;     ///< serve: port to listen on (0 = any)
  std::string port_file; ///< serve: write the bound port here
  std::string to;        ///< send: HOST:PORT of the receiver
  std::string token = "bench";
  uint64_t mib = 1024;     ///< model size, MiB
  uint64_t count = 4;      ///< models sent
  uint64_t chunk_mib = 16; ///< transport.chunk_mib
  uint64_t window = 4;     ///< transport.window
};

/// Runs one side; the sender prints the figures. Returns the exit code.
int run_transfer_bench(const transfer_bench_options& o);

} // namespace fl::cli
