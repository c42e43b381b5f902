#include "runtime/federation/fedbuff_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <queue>
#include <random>
#include <tuple>

#include "runtime/core/errors.hpp"

namespace fl {

caf::expected<fedbuff_schedule>
fedbuff_schedule::plan(std::vector<client> clients, uint64_t concurrency,
                       uint64_t k, uint64_t buffers, uint64_t seed) {
  auto bad = [](const std::string& why) {
    return make_fl_error(errc::invalid_config, "FedBuff schedule: " + why);
  };
  if (clients.empty())
    return bad("no clients");
  if (k == 0 || concurrency == 0)
    return bad("buffer size and concurrency must be >= 1");
  for (const auto& c : clients)
    if (!(c.duration > 0) || !std::isfinite(c.duration))
      return bad("client " + c.id + " has training time "
                 + std::to_string(c.duration));
  std::sort(clients.begin(), clients.end(),
            [](const client& a, const client& b) { return a.id < b.id; });
  std::mt19937_64 rng{seed * 0x9e3779b97f4a7c15ull + 17};
  std::shuffle(clients.begin(), clients.end(), rng);

  fedbuff_schedule out;
  out.k_ = k;
  out.buffers_ = buffers;
  std::deque<size_t> idle(clients.size());
  for (size_t i = 0; i < clients.size(); ++i)
    idle[i] = i;
  struct running {
    double done_at;
    uint64_t seq;
    size_t client;
    bool operator>(const running& o) const {
      return std::tie(done_at, seq) > std::tie(o.done_at, o.seq);
    }
  };
  std::priority_queue<running, std::vector<running>, std::greater<>> out_now;
  std::vector<task> all;
  const uint64_t needed = buffers * k;
  uint64_t completed = 0, version = 0;
  double now = 0;
  auto dispatch = [&] {
    while (out_now.size() < concurrency && !idle.empty()) {
      const auto c = idle.front();
      idle.pop_front();
      const auto seq = all.size();
      all.push_back(task{seq, clients[c].id, version, 0});
      out_now.push(running{now + clients[c].duration, seq, c});
    }
  };
  if (needed > 0)
    dispatch();
  while (completed < needed) {
    auto r = out_now.top();
    out_now.pop();
    now = r.done_at;
    all[r.seq].buffer = completed / k;
    ++completed;
    if (completed % k == 0)
      ++version;
    idle.push_back(r.client);
    if (completed < needed)
      dispatch();
  }
  // Tasks still out when the last buffer closed are never started.
  std::vector<bool> unused(all.size(), false);
  for (; !out_now.empty(); out_now.pop())
    unused[out_now.top().seq] = true;
  for (size_t i = 0; i < all.size(); ++i)
    if (!unused[i]) {
      all[i].seq = out.tasks_.size();
      out.by_client_[all[i].client].push_back(out.tasks_.size());
      out.tasks_.push_back(std::move(all[i]));
    }
  return out;
}

const std::vector<size_t>&
fedbuff_schedule::tasks_of(const std::string& id) const {
  static const std::vector<size_t> none;
  auto i = by_client_.find(id);
  return i == by_client_.end() ? none : i->second;
}

} // namespace fl
