#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include "runtime/compression/encoded_tensor.hpp"
#include "runtime/core/config.hpp"
#include "runtime/core/config_map.hpp"
#include "runtime/core/model_layout.hpp"
#include "runtime/core/train_metrics.hpp"
#include "runtime/core/span.hpp"

namespace fl {

/// The bytes of one wire frame (an encoded Envelope or Chunk). This is the
/// ONLY type that crosses a process boundary; CAF serialises it with one
/// memcpy (a vector of uint8_t, see toolchain notes).
using byte_buffer = std::vector<uint8_t>;

/// Wire protocol version (mirrors fl.capnp's protocolVersion).
constexpr uint32_t protocol_version = 4;

enum class node_role : uint8_t { server, scheduler, client, peer };
enum class tensor_kind : uint8_t { params, delta };

std::string to_string(node_role x);
std::string to_string(tensor_kind x);

/// A flat float32 model on the wire. When decoded, `values` points into the
/// received frame (zero copy) and `owner` keeps that frame alive; when
/// encoding, `values` points at the caller's buffer, which must stay valid
/// until encode() returns (`owner` may stay empty).
struct tensor {
  tensor_kind kind = tensor_kind::params;
  model_layout layout;
  span<const float> values;
  std::shared_ptr<const void> owner;
  /// A compressed tensor (runtime/compression): then `values` is empty and
  /// the values travel encoded (a delta only).
  std::shared_ptr<const encoded_tensor> packed;
  /// Only in a decoded head frame: the values have not arrived yet; they
  /// follow as the TensorData frames of this transfer (frame_assembler
  /// writes them into place and clears it). 0 everywhere else.
  uint64_t stream_id = 0;
  /// With stream_id: the values come on the bulk link, not as pieces.
  bool bulk = false;

  /// Payload bytes on the wire (dense values or the encoding's).
  uint64_t payload_bytes() const {
    return packed ? fl::payload_bytes(*packed) : values.size_bytes();
  }
};

struct join_msg {
  std::string node_id;
  node_role role = node_role::client;
  std::vector<std::string> capabilities;
  std::string auth_token;
  uint64_t num_samples = 0;
  uint32_t protocol = protocol_version;
  uint64_t layout_hash = 0; ///< of the model the joiner trains
  uint64_t numel = 0;       ///< its element count
};

struct welcome_msg {
  std::string node_id;
  std::string server_id;
  uint64_t model_version = 0;
  uint32_t heartbeat_ms = 0;
  federation_mode mode = federation_mode::sync;
};

struct activation_msg {
  uint64_t round = 0;
  uint64_t model_version = 0;
  tensor model;
  config_map config; ///< what the strategy asks this client to do
  /// SCAFFOLD's correction c - c_i for this client; empty values = none.
  tensor control;
};

struct request_msg {
  std::string node_id;
};

struct model_msg {
  uint64_t model_version = 0;
  tensor model;
  config_map config; ///< what the strategy asks this client to do
};

struct update_msg {
  std::string node_id;
  uint64_t round = 0;
  uint64_t base_version = 0;
  uint64_t num_samples = 0;
  tensor model;
  train_metrics metrics;
  config_map extra; ///< the client's own metrics
};

struct evaluate_msg {
  uint64_t round = 0;
  uint64_t model_version = 0;
  tensor model;
};

struct eval_result_msg {
  std::string node_id;
  uint64_t round = 0;
  uint64_t num_samples = 0;
  double loss = 0;
  double accuracy = 0;
};

struct heartbeat_msg {
  std::string node_id;
  uint64_t sent_at_ms = 0;
};

struct exit_msg {
  std::string reason;
};

struct error_msg {
  error_msg(uint16_t c = 0, std::string msg = {}, std::string id = {},
            uint64_t r = 0)
    : code(c), message(std::move(msg)), node_id(std::move(id)), round(r) {}
  uint16_t code = 0;
  std::string message;
  std::string node_id; ///< upward: the node that failed; "" = none
  uint64_t round = 0;  ///< the sync round it is about; 0 = none
};

/// What a Gossip message is for: mixed in, or a rejoining peer's catch-up.
enum class gossip_kind : uint8_t { share, state };

/// Decentralized mode: a peer's model for a neighbor (actors/peer.hpp).
struct gossip_msg {
  std::string node_id; ///< the sending peer
  uint64_t step = 0;   ///< sync: the round; async: the sender's iteration
  double weight = 1;   ///< push-sum weight carried with the values
  tensor model;        ///< params: the model, or a push-sum numerator share
  gossip_kind kind = gossip_kind::share;
};

/// Largest push-sum weight a Gossip may carry (weights start at 1 per peer
/// and only ever split, so a larger one is forged).
constexpr double max_gossip_weight = 1048576.0;

/// Every protocol message, as validated C++ values.
using message = std::variant<join_msg, welcome_msg, activation_msg,
                             request_msg, model_msg, update_msg, evaluate_msg,
                             eval_result_msg, heartbeat_msg, exit_msg,
                             error_msg, gossip_msg>;

/// The model a message carries (activation, model, update, evaluate,
/// gossip), or null for messages without one.
const tensor* model_of(const message& x);
tensor* model_of(message& x);

/// Name of the alternative held, e.g. "update" (for logs).
std::string message_name(const message& x);

/// A message plus its destination node (empty = the receiving node) and,
/// for multicast, more destination nodes that get the same body.
struct envelope {
  envelope() = default;
  envelope(std::string to, message msg, std::vector<std::string> more = {})
    : target(std::move(to)), body(std::move(msg)),
      more_targets(std::move(more)) {}

  std::string target;
  message body;
  std::vector<std::string> more_targets;
};

} // namespace fl

// These values only travel between actors of one process (connectors turn
// them into byte_buffer frames at the process edge), so they need no
// serialisation. Allowing them here keeps that rule checked: sending one to a
// remote actor fails loudly instead of silently copying model bytes.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::envelope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::update_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::join_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fl::eval_result_msg)
