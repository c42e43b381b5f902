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

tensor* model_of(message& x) {
  return std::visit(
    [](auto& m) -> tensor* {
      using T = std::decay_t<decltype(m)>;
      if constexpr (std::is_same<T, activation_msg>::value
                    || std::is_same<T, model_msg>::value
                    || std::is_same<T, update_msg>::value
                    || std::is_same<T, evaluate_msg>::value
                    || std::is_same<T, gossip_msg>::value)
        return &m.model;
      else
        return nullptr;
    },
    x);
}

const tensor* model_of(const message& x) {
  return model_of(const_cast<message&>(x));
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
