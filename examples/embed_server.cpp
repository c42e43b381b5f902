// Embedding a server in an existing program: the server runs on a thread of
// the application and 10 clients join it over loopback TCP, as they would
// from other hosts (`fl-node client --upstream HOST:PORT`).
//   build: see examples/CMakeLists.txt; run: ./embed_server
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include <fedactor/fedactor.hpp>

int main() {
  const std::string port_file = "embed_server.port";
  std::remove(port_file.c_str());
  // The server: any free port on loopback, written to a file once bound.
  fedactor::federation server;
  server.set("node.host", "127.0.0.1");
  server.set("node.port", "0");
  server.set("node.port_file", port_file);
  server.set("federation.clients", "10");
  server.set("federation.rounds", "3");
  caf::expected<fedactor::federation_result> result{caf::error{}};
  std::thread serving{[&] { result = server.serve(); }};
  // The application goes on with its own work; here it waits for the port
  // and starts the clients.
  uint16_t port = 0;
  for (int i = 0; i < 300 && port == 0; ++i) {
    std::ifstream in{port_file};
    if (!(in >> port))
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (port == 0) {
    std::fprintf(stderr, "the server did not start\n");
    serving.join();
    return 1;
  }
  fedactor::federation clients;
  clients.set("node.upstream", "127.0.0.1:" + std::to_string(port));
  clients.set("federation.clients", "10");
  auto joined = clients.join();
  serving.join();
  std::remove(port_file.c_str());
  if (joined || !result) {
    std::fprintf(stderr, "%s\n",
                 fedactor::describe(joined ? joined : result.error()).c_str());
    return 1;
  }
  std::printf("server on port %u: %zu rounds, test accuracy %.4f\n", port,
              result->rounds.size(), result->final_accuracy);
  return 0;
}
