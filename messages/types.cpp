#include "messages/types.hpp"

namespace fl {

std::string to_string(node_role x) {
  switch (x) {
    case node_role::server: return "server";
    case node_role::scheduler: return "scheduler";
    case node_role::client: return "client";
    case node_role::peer: return "peer";
  }
  return "unknown";
}

std::string to_string(tensor_kind x) {
  return x == tensor_kind::delta ? "delta" : "params";
}

std::string message_name(const message& x) {
  static const char* names[] = {"join",     "welcome",     "activation",
                                "request",  "model",       "update",
                                "evaluate", "eval_result", "heartbeat",
                                "exit",     "error",       "gossip"};
  static_assert(std::variant_size<message>::value
                  == sizeof(names) / sizeof(names[0]),
                "one name per message alternative");
  return names[x.index()];
}

} // namespace fl
