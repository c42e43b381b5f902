// A plain TCP socket moving the same bytes as `fl-node bench transfer`, and
// memcpy, as the ceilings to compare the engine's path with.
//   fl_bench_tcp serve PORT_FILE MIB COUNT   (listens on 0.0.0.0, any port)
//   fl_bench_tcp send HOST PORT MIB COUNT    (prints MB/s)
//   fl_bench_tcp memcpy MIB                  (prints GB/s)

#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr size_t io_block = size_t{4} << 20;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

/// Receives `count` models of `model` bytes, each into one model-sized
/// buffer (reused, as a receiver that keeps the model in memory would).
int serve(const char* port_file, uint64_t model, uint64_t count) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0
      || ::listen(s, 1) != 0) {
    std::perror("listen");
    return 1;
  }
  socklen_t len = sizeof(a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  {
    std::ofstream out{std::string{port_file} + ".tmp"};
    out << ntohs(a.sin_port) << "\n";
  }
  std::rename((std::string{port_file} + ".tmp").c_str(), port_file);
  int c = ::accept(s, nullptr, nullptr);
  std::vector<char> buf(model);
  for (uint64_t k = 0; k < count; ++k) {
    uint64_t got = 0;
    while (got < model) {
      auto n = ::read(c, buf.data() + got,
                      std::min<uint64_t>(io_block, model - got));
      if (n <= 0)
        return 1;
      got += static_cast<uint64_t>(n);
    }
  }
  char ack = 1;
  if (::write(c, &ack, 1) != 1)
    return 1;
  ::close(c);
  ::close(s);
  return 0;
}

int send(const char* host, const char* port, uint64_t mib, uint64_t count) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (::getaddrinfo(host, port, &hints, &res) != 0)
    return 1;
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(s, res->ai_addr, res->ai_addrlen) != 0) {
    std::perror("connect");
    return 1;
  }
  ::freeaddrinfo(res);
  const uint64_t model = mib << 20;
  std::vector<char> data(model, 1);
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t k = 0; k < count; ++k)
    for (uint64_t at = 0; at < model;) {
      auto n = ::write(s, data.data() + at,
                       std::min<uint64_t>(io_block, model - at));
      if (n <= 0)
        return 1;
      at += static_cast<uint64_t>(n);
    }
  char ack = 0;
  if (::read(s, &ack, 1) != 1)
    return 1;
  const double t = seconds_since(t0);
  std::printf("plain TCP: %llu x %llu MiB in %.3f s = %.0f MB/s\n",
              static_cast<unsigned long long>(count),
              static_cast<unsigned long long>(mib), t,
              static_cast<double>(model * count) / t / 1e6);
  ::close(s);
  return 0;
}

int copy(uint64_t mib) {
  const uint64_t bytes = mib << 20;
  std::vector<char> a(bytes, 1), b(bytes, 0);
  double best = 1e30;
  for (int k = 0; k < 5; ++k) {
    auto t0 = std::chrono::steady_clock::now();
    std::memcpy(b.data(), a.data(), bytes);
    best = std::min(best, seconds_since(t0));
  }
  std::printf("memcpy: %llu MiB in %.3f s = %.0f MB/s (best of 5)\n",
              static_cast<unsigned long long>(mib), best,
              static_cast<double>(bytes) / best / 1e6);
  return b[bytes / 2] == 1 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "serve" && argc == 5)
    return serve(argv[2], std::strtoull(argv[3], nullptr, 10) << 20,
                 std::strtoull(argv[4], nullptr, 10));
  if (mode == "send" && argc == 6)
    return send(argv[2], argv[3], std::strtoull(argv[4], nullptr, 10),
                std::strtoull(argv[5], nullptr, 10));
  if (mode == "memcpy" && argc == 3)
    return copy(std::strtoull(argv[2], nullptr, 10));
  std::fprintf(stderr, "usage: fl_bench_tcp serve PORT_FILE MIB COUNT | send "
                       "HOST PORT MIB COUNT | memcpy MIB\n");
  return 2;
}
