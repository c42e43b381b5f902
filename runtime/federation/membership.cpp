#include "runtime/federation/membership.hpp"

#include <algorithm>

namespace fl {

membership::membership(model_layout layout, uint32_t protocol)
  : layout_(std::move(layout)), protocol_(protocol) {}

void membership::set_alive(entry& e, bool alive) {
  if (e.info.alive == alive)
    return;
  e.info.alive = alive;
  if (alive) {
    ++alive_;
    alive_samples_ += e.info.num_samples;
  } else {
    --alive_;
    alive_samples_ -= e.info.num_samples;
  }
  view_stale_ = true;
}

join_outcome membership::join(const join_request& req,
                              const caf::actor& route) {
  if (req.protocol != protocol_)
    return join_outcome::bad_protocol;
  if (req.layout_hash != layout_.hash() || req.numel != layout_.numel())
    return join_outcome::layout_mismatch;
  auto i = slot_of_.find(req.node_id);
  if (i == slot_of_.end()) {
    const auto slot = static_cast<uint32_t>(members_.size());
    members_.push_back(entry{req.node_id, member_info{route, 0, false}});
    slot_of_.emplace(req.node_id, slot);
    members_.back().info.num_samples = req.num_samples;
    set_alive(members_.back(), true);
    by_route_[route.address()].push_back(slot);
    return join_outcome::admitted;
  }
  auto& e = members_[i->second];
  if (e.info.alive && e.info.route != route)
    return join_outcome::id_in_use;
  set_alive(e, false); // re-counted below with the new sample count
  if (e.info.route != route)
    by_route_[route.address()].push_back(i->second);
  e.info.route = route;
  e.info.num_samples = req.num_samples;
  set_alive(e, true);
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
  auto i = slot_of_.find(id);
  if (i == slot_of_.end() || !members_[i->second].info.alive)
    return false;
  set_alive(members_[i->second], false);
  return true;
}

const member_info* membership::find(const std::string& id) const {
  auto i = slot_of_.find(id);
  if (i == slot_of_.end())
    return nullptr;
  const auto& e = members_[i->second];
  return e.info.alive ? &e.info : nullptr;
}

std::vector<std::string>
membership::routed_by(const caf::actor_addr& addr) const {
  std::vector<std::string> ids;
  auto r = by_route_.find(addr);
  if (r == by_route_.end())
    return ids;
  auto& slots = r->second;
  costs_.visited += slots.size();
  // Keep only the slots still routed here (a member may have moved).
  slots.erase(std::remove_if(slots.begin(), slots.end(),
                             [&](uint32_t s) {
                               return members_[s].info.route.address()
                                      != addr;
                             }),
              slots.end());
  for (auto s : slots)
    if (members_[s].info.alive)
      ids.push_back(members_[s].id);
  if (slots.empty())
    by_route_.erase(r);
  std::sort(ids.begin(), ids.end());
  return ids;
}

const std::vector<client_info>& membership::alive_view() const {
  if (!view_stale_)
    return view_;
  view_.clear();
  view_.reserve(alive_);
  for (const auto& e : members_)
    if (e.info.alive)
      view_.push_back(client_info{e.id, e.info.num_samples});
  std::sort(view_.begin(), view_.end(),
            [](const client_info& x, const client_info& y) {
              return x.id < y.id;
            });
  costs_.visited += members_.size();
  ++costs_.rebuilds;
  view_stale_ = false;
  return view_;
}

std::vector<std::string> membership::alive_ids() const {
  std::vector<std::string> ids;
  ids.reserve(alive_);
  for (const auto& m : alive_view())
    ids.push_back(m.id);
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
  return alive_samples_;
}

} // namespace fl
