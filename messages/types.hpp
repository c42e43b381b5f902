#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include "runtime/model_layout.hpp"
#include "runtime/span.hpp"

namespace fl {

/// The bytes of one wire frame (an encoded Envelope or Chunk). This is the
/// ONLY type that crosses a process boundary; CAF serialises it with one
/// memcpy (a vector of uint8_t, see toolchain notes).
using byte_buffer = std::vector<uint8_t>;

/// Wire protocol version (mirrors fl.capnp's protocolVersion).
constexpr uint32_t protocol_version = 1;

enum class node_role : uint8_t { server, scheduler, client };
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
};

struct train_metrics {
  double loss = 0;
  double accuracy = 0;
  double train_seconds = 0;
};

struct join_msg {
  std::string node_id;
  node_role role = node_role::client;
  std::vector<std::string> capabilities;
  std::string auth_token;
  uint64_t num_samples = 0;
  uint32_t protocol = protocol_version;
};

struct welcome_msg {
  std::string node_id;
  std::string server_id;
  uint64_t model_version = 0;
  uint32_t heartbeat_ms = 0;
  std::string mode = "sync"; ///< sync | async | fedbuff
};

struct activation_msg {
  uint64_t round = 0;
  uint64_t model_version = 0;
  tensor model;
};

struct request_msg {
  std::string node_id;
};

struct model_msg {
  uint64_t model_version = 0;
  tensor model;
};

struct update_msg {
  std::string node_id;
  uint64_t round = 0;
  uint64_t base_version = 0;
  uint64_t num_samples = 0;
  tensor model;
  train_metrics metrics;
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
  uint16_t code = 0;
  std::string message;
};

/// Every protocol message, as validated C++ values.
using message = std::variant<join_msg, welcome_msg, activation_msg,
                             request_msg, model_msg, update_msg, evaluate_msg,
                             eval_result_msg, heartbeat_msg, exit_msg,
                             error_msg>;

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
