#include "runtime/federation/membership.hpp"

#include <algorithm>

namespace fl {

membership::membership(model_layout layout, uint32_t protocol)
  : layout_(std::move(layout)), protocol_(protocol) {}

join_outcome membership::join(const join_request& req,
                              const caf::actor& route) {
  if (req.protocol != protocol_)
    return join_outcome::bad_protocol;
  if (req.layout_hash != layout_.hash() || req.numel != layout_.numel())
    return join_outcome::layout_mismatch;
  auto i = members_.find(req.node_id);
  if (i == members_.end()) {
    members_.emplace(req.node_id, member_info{route, req.num_samples, true});
    ++alive_;
    return join_outcome::admitted;
  }
  auto& m = i->second;
  if (m.alive && m.route != route)
    return join_outcome::id_in_use;
  if (!m.alive)
    ++alive_;
  m = member_info{route, req.num_samples, true};
  return join_outcome::rejoined;
}

std::string membership::explain(join_outcome x,
                                const join_request& req) const {
  switch (x) {
    case join_outcome::bad_protocol:
      return "protocol version " + std::to_string(req.protocol)
             + " is not supported (this node speaks "
             + std::to_string(protocol_) + ")";
    case join_outcome::id_in_use:
      return "node id '" + req.node_id + "' is already in use";
    case join_outcome::layout_mismatch:
      return "the model does not match the federation's: it has "
             + std::to_string(req.numel) + " parameters (layout hash "
             + std::to_string(req.layout_hash) + "), the federation's has "
             + std::to_string(layout_.numel()) + " (layout hash "
             + std::to_string(layout_.hash())
             + "); check --model and its size";
    default:
      return "admitted";
  }
}

bool membership::lose(const std::string& id) {
  auto i = members_.find(id);
  if (i == members_.end() || !i->second.alive)
    return false;
  i->second.alive = false;
  --alive_;
  return true;
}

const member_info* membership::find(const std::string& id) const {
  auto i = members_.find(id);
  return i != members_.end() && i->second.alive ? &i->second : nullptr;
}

std::vector<std::string>
membership::routed_by(const caf::actor_addr& addr) const {
  std::vector<std::string> ids;
  for (const auto& [id, m] : members_)
    if (m.alive && m.route.address() == addr)
      ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> membership::alive_ids() const {
  std::vector<std::string> ids;
  ids.reserve(alive_);
  for (const auto& [id, m] : members_)
    if (m.alive)
      ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

uint64_t membership::sample_limit(const std::string& id,
                                  uint64_t max_samples) const {
  auto* m = find(id);
  uint64_t limit = m ? m->num_samples : 0;
  return max_samples > 0 ? std::min(limit, max_samples) : limit;
}

double membership::sample_budget(const std::vector<std::string>& ids,
                                 uint64_t max_samples) const {
  if (ids.empty())
    return 1.0;
  std::vector<double> limits;
  limits.reserve(ids.size());
  for (const auto& id : ids)
    limits.push_back(static_cast<double>(sample_limit(id, max_samples)));
  auto mid = limits.begin() + static_cast<ptrdiff_t>(limits.size() / 2);
  std::nth_element(limits.begin(), mid, limits.end());
  const double cap = std::max(*mid, 1.0) * budget_spread;
  double total = 0;
  for (double x : limits)
    total += std::min(x, cap);
  return std::max(total, 1.0);
}

uint64_t membership::alive_samples() const {
  uint64_t n = 0;
  for (const auto& kv : members_)
    n += kv.second.alive ? kv.second.num_samples : 0;
  return n;
}

} // namespace fl
