// Writes the binary seed corpora of the wire fuzz targets from the current
// codec (so seeds follow the wire format): whole frames of every message
// kind and chunked transfers for the assembler.
//   fl_fuzz_seeds OUT_DIR   -> OUT_DIR/frame_decoder/*,
//   OUT_DIR/chunk_assembler/*

#include "messages/codec.hpp"
#include "messages/outbox.hpp"
#include "runtime/net/auth_frames.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace fl;

namespace {

void write(const std::filesystem::path& p, const std::vector<uint8_t>& b) {
  std::ofstream out{p, std::ios::binary};
  out.write(reinterpret_cast<const char*>(b.data()),
            static_cast<std::streamsize>(b.size()));
}

/// Frames with 16-bit length prefixes (the assembler target's input).
std::vector<uint8_t> framed(const std::vector<byte_buffer>& frames) {
  std::vector<uint8_t> out;
  for (const auto& f : frames) {
    out.push_back(static_cast<uint8_t>(f.size() & 0xff));
    out.push_back(static_cast<uint8_t>(f.size() >> 8));
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fl_fuzz_seeds OUT_DIR\n");
    return 2;
  }
  std::filesystem::path out{argv[1]};
  for (auto d : {"frame_decoder", "chunk_assembler", "auth_frames"})
    std::filesystem::create_directories(out / d);
  std::vector<float> values(300);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = 0.01f * static_cast<float>(i);
  update_msg up;
  up.node_id = "client-1";
  up.round = 2;
  up.num_samples = 600;
  up.model.kind = tensor_kind::params;
  up.model.layout.add("fc.weight", {20, 10});
  up.model.layout.add("fc.bias", {100});
  up.model.values = span<const float>{values};
  join_msg join;
  join.node_id = "client-1";
  join.num_samples = 600;
  std::vector<message> bodies{up, join, error_msg{3, "nope"},
                              heartbeat_msg{"client-1"}};
  int k = 0;
  for (const auto& body : bodies) {
    auto whole = encode(envelope{"server", body});
    write(out / "frame_decoder" / ("msg" + std::to_string(k++)), whole);
  }
  // A transfer in 4 chunks, and the same chunks out of order.
  auto chunks = encode_frames(envelope{"server", up}, 400, 7);
  write(out / "chunk_assembler" / "in_order", framed(chunks));
  write(out / "frame_decoder" / "chunk0", chunks.front());
  if (chunks.size() > 2) {
    std::swap(chunks[1], chunks[2]);
    write(out / "chunk_assembler" / "swapped", framed(chunks));
  }
  // The same update streamed: a head, pieces of 64 values, credits, a bulk
  // head and a bulk-link offer (the frames a streaming peer sends).
  {
    send_settings ss;
    ss.chunk_bytes = 256;
    ss.window = 64;
    outbox box{ss};
    if (!box.push(envelope{"server", up})) {
      auto streamed = box.take();
      streamed.push_back(encode_credit(1, 2));
      streamed.push_back(encode_bulk_offer(4242, {}));
      write(out / "chunk_assembler" / "streamed", framed(streamed));
      write(out / "frame_decoder" / "piece", streamed.at(1));
      write(out / "frame_decoder" / "head", streamed.at(0));
    }
    outbox bulk{ss};
    bulk.use_bulk([](uint64_t, span<const float>, std::shared_ptr<const void>) {});
    if (!bulk.push(envelope{"server", up}))
      write(out / "frame_decoder" / "bulk_head", bulk.take().at(0));
  }
  auto n = net::random_nonce();
  auto with_tag = [](uint8_t tag, std::vector<char> b) {
    std::vector<uint8_t> v{tag};
    v.insert(v.end(), b.begin(), b.end());
    return v;
  };
  write(out / "auth_frames" / "hello", with_tag(0, net::encode_hello(n)));
  write(out / "auth_frames" / "proof",
        with_tag(1, net::encode_proof("host-a", "token", n, n)));
  write(out / "auth_frames" / "verdict",
        with_tag(2, net::encode_verdict(net::verdict_code::admitted, "server",
                                        "token", n)));
  std::string access = "deny = [\"x\"]\n[nodes.a]\ntoken = "
                       "\"0123456789abcdef\"\nids = [\"client-0..3\"]\n";
  write(out / "auth_frames" / "access",
        with_tag(3, std::vector<char>(access.begin(), access.end())));
  return 0;
}
