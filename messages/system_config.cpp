#include "messages/system_config.hpp"

#include "messages/atoms.hpp"

namespace fl {

system_config::system_config(const node_config& cfg)
  : base_system_config(cfg) {
  add_message_type<wire_frame>("fl::wire_frame");
}

} // namespace fl
