#include "runtime/gossip/topology.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "runtime/core/errors.hpp"

namespace fl::gossip {

namespace {

caf::error bad(std::string what) {
  return make_fl_error(errc::invalid_config, std::move(what));
}

/// Offsets 2^k < n, the hops of the Exponential-2 graphs.
std::vector<size_t> exp2_hops(size_t n) {
  std::vector<size_t> hops;
  for (size_t h = 1; h < n; h *= 2)
    hops.push_back(h);
  return hops;
}

/// Rows with uniform weights over self and the given in-neighbors.
std::vector<mixing_row>
uniform_rows(size_t n, const std::vector<std::vector<uint32_t>>& in) {
  std::vector<mixing_row> rows(n);
  for (size_t i = 0; i < n; ++i) {
    auto w = 1.0 / static_cast<double>(in[i].size() + 1);
    rows[i].self_weight = w;
    for (auto j : in[i])
      rows[i].in.push_back({j, w});
  }
  return rows;
}

/// Metropolis-Hastings weights of an undirected graph: W_ij = 1 / (1 +
/// max(d_i, d_j)), W_ii = 1 - sum; symmetric, so doubly stochastic.
std::vector<mixing_row>
metropolis_rows(size_t n, const std::vector<std::vector<uint32_t>>& adj) {
  std::vector<mixing_row> rows(n);
  for (size_t i = 0; i < n; ++i) {
    double sum = 0;
    for (auto j : adj[i]) {
      auto w = 1.0 / (1.0 + static_cast<double>(
                              std::max(adj[i].size(), adj[j].size())));
      rows[i].in.push_back({j, w});
      sum += w;
    }
    rows[i].self_weight = 1.0 - sum;
  }
  return rows;
}

void link(std::vector<std::vector<uint32_t>>& adj, size_t a, size_t b) {
  adj[a].push_back(static_cast<uint32_t>(b));
  adj[b].push_back(static_cast<uint32_t>(a));
}

/// Whether every peer reaches every other one along `edges` (and back).
bool strongly_connected(size_t n,
                        const std::vector<std::vector<uint32_t>>& forward) {
  std::vector<std::vector<uint32_t>> backward(n);
  for (size_t i = 0; i < n; ++i)
    for (auto j : forward[i])
      backward[j].push_back(static_cast<uint32_t>(i));
  auto reaches_all = [n](const std::vector<std::vector<uint32_t>>& g) {
    std::vector<bool> seen(n, false);
    std::vector<uint32_t> todo{0};
    seen[0] = true;
    size_t count = 1;
    while (!todo.empty()) {
      auto i = todo.back();
      todo.pop_back();
      for (auto j : g[i])
        if (!seen[j]) {
          seen[j] = true;
          ++count;
          todo.push_back(j);
        }
    }
    return count == n;
  };
  return reaches_all(forward) && reaches_all(backward);
}

} // namespace

const std::vector<std::string>& topology_names() {
  static const std::vector<std::string> names{
    "ring", "exp2", "exp2-one-peer", "mesh", "star", "full"};
  return names;
}

caf::expected<topology> topology::make(const std::string& name, size_t n) {
  if (n == 0)
    return bad("a topology needs at least one peer");
  std::vector<std::vector<mixing_row>> period;
  if (name == "ring") {
    std::vector<std::vector<uint32_t>> in(n);
    for (size_t i = 0; i < n && n > 1; ++i) {
      in[i].push_back(static_cast<uint32_t>((i + n - 1) % n));
      if (n > 2)
        in[i].push_back(static_cast<uint32_t>((i + 1) % n));
    }
    period.push_back(uniform_rows(n, in));
  } else if (name == "exp2") {
    std::vector<std::vector<uint32_t>> in(n);
    for (size_t i = 0; i < n; ++i)
      for (auto h : exp2_hops(n))
        in[i].push_back(static_cast<uint32_t>((i + n - h) % n));
    period.push_back(uniform_rows(n, in));
  } else if (name == "exp2-one-peer") {
    auto hops = exp2_hops(n);
    if (hops.empty())
      period.push_back(std::vector<mixing_row>(n));
    for (auto h : hops) {
      std::vector<std::vector<uint32_t>> in(n);
      for (size_t i = 0; i < n; ++i)
        in[i].push_back(static_cast<uint32_t>((i + n - h) % n));
      period.push_back(uniform_rows(n, in));
    }
  } else if (name == "mesh") {
    size_t rows = 1;
    for (size_t r = 1; r * r <= n; ++r)
      if (n % r == 0)
        rows = r;
    auto cols = n / rows;
    std::vector<std::vector<uint32_t>> adj(n);
    for (size_t r = 0; r < rows; ++r)
      for (size_t c = 0; c < cols; ++c) {
        auto i = r * cols + c;
        if (c + 1 < cols)
          link(adj, i, i + 1);
        if (r + 1 < rows)
          link(adj, i, i + cols);
      }
    period.push_back(metropolis_rows(n, adj));
  } else if (name == "star") {
    std::vector<std::vector<uint32_t>> adj(n);
    for (size_t i = 1; i < n; ++i)
      link(adj, 0, i);
    period.push_back(metropolis_rows(n, adj));
  } else if (name == "full") {
    std::vector<std::vector<uint32_t>> in(n);
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j)
        if (j != i)
          in[i].push_back(static_cast<uint32_t>(j));
    period.push_back(uniform_rows(n, in));
  } else {
    std::string known;
    for (const auto& x : topology_names())
      known += (known.empty() ? "" : ", ") + x;
    return bad("unknown topology '" + name + "' (known: " + known
               + "; or a file of weighted edges)");
  }
  return from_rows(name, std::move(period));
}

caf::expected<topology> topology::from_file(const std::string& path,
                                            size_t n) {
  if (n == 0)
    return bad("a topology needs at least one peer");
  std::ifstream in{path};
  if (!in)
    return make_fl_error(errc::io_error,
                         "cannot read topology file '" + path + "'");
  std::vector<mixing_row> rows(n);
  std::vector<bool> has_self(n, false);
  std::map<std::pair<uint64_t, uint64_t>, size_t> seen;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    auto where = path + ":" + std::to_string(line_no) + ": ";
    if (auto hash = line.find('#'); hash != std::string::npos)
      line.erase(hash);
    std::istringstream words{line};
    std::string a, b, c, extra;
    if (!(words >> a))
      continue;
    if (!(words >> b >> c) || (words >> extra))
      return bad(where + "expected 'i j weight', got '" + line + "'");
    uint64_t i = 0, j = 0;
    double w = 0;
    try {
      size_t used_a = 0, used_b = 0, used_c = 0;
      i = std::stoull(a, &used_a);
      j = std::stoull(b, &used_b);
      w = std::stod(c, &used_c);
      if (used_a != a.size() || used_b != b.size() || used_c != c.size()
          || a[0] == '-' || b[0] == '-')
        throw std::invalid_argument{"trailing"};
    } catch (const std::exception&) {
      return bad(where + "expected 'i j weight' with peer indices and a "
                         "number, got '" + line + "'");
    }
    if (i >= n || j >= n)
      return bad(where + "peer index " + std::to_string(std::max(i, j))
                 + " is not below the number of peers, "
                 + std::to_string(n));
    if (!(w > 0 && w <= 1))
      return bad(where + "weight must be in (0, 1], got " + c);
    if (auto [it, fresh] = seen.emplace(std::make_pair(i, j), line_no);
        !fresh)
      return bad(where + "edge " + a + " " + b + " is also on line "
                 + std::to_string(it->second));
    if (i == j) {
      rows[i].self_weight = w;
      has_self[i] = true;
    } else {
      rows[i].in.push_back({static_cast<uint32_t>(j), w});
    }
  }
  for (size_t i = 0; i < n; ++i)
    if (!has_self[i])
      rows[i].self_weight = 0;
  auto t = from_rows(path, {std::move(rows)});
  if (!t)
    return bad(path + ": " + describe(t.error()));
  return t;
}

caf::expected<topology>
topology::from_rows(std::string name,
                    std::vector<std::vector<mixing_row>> period) {
  topology t;
  t.name_ = std::move(name);
  t.size_ = period.empty() ? 0 : period.front().size();
  t.period_ = std::move(period);
  if (auto err = t.check())
    return err;
  return t;
}

caf::error topology::check() {
  if (size_ == 0 || period_.empty())
    return bad("a topology needs at least one peer");
  const auto n = size_;
  std::vector<std::vector<uint32_t>> forward(n); // j -> i when i mixes j
  doubly_stochastic_ = true;
  columns_.assign(period_.size(),
                  std::vector<std::vector<weighted_edge>>(n));
  for (size_t t = 0; t < period_.size(); ++t) {
    const auto& rows = period_[t];
    if (rows.size() != n)
      return bad("every iteration's matrix must have " + std::to_string(n)
                 + " rows");
    std::vector<double> column_sum(n, 0);
    for (size_t i = 0; i < n; ++i) {
      const auto& r = rows[i];
      if (!(r.self_weight >= 0 && r.self_weight <= 1))
        return bad("peer " + std::to_string(i) + "'s own weight must be in "
                   "[0, 1]");
      double sum = r.self_weight;
      column_sum[i] += r.self_weight;
      for (const auto& e : r.in) {
        if (e.peer >= n || e.peer == i)
          return bad("peer " + std::to_string(i) + " has an edge to "
                     + std::to_string(e.peer));
        if (!(e.weight > 0 && e.weight <= 1))
          return bad("the weight of edge " + std::to_string(i) + " "
                     + std::to_string(e.peer) + " must be in (0, 1]");
        sum += e.weight;
        column_sum[e.peer] += e.weight;
        forward[e.peer].push_back(static_cast<uint32_t>(i));
        columns_[t][e.peer].push_back(
          {static_cast<uint32_t>(i), e.weight});
      }
      if (std::abs(sum - 1.0) > 1e-6)
        return bad("the weights of peer " + std::to_string(i)
                   + " (its own and its in-neighbors') sum to "
                   + std::to_string(sum) + ", not 1");
    }
    for (auto s : column_sum)
      doubly_stochastic_ &= std::abs(s - 1.0) <= 1e-6;
  }
  if (!strongly_connected(n, forward))
    return bad("the topology is not connected: some peers never receive "
               "from (or send to) the others, so they cannot agree");
  return {};
}

const mixing_row& topology::row(size_t i, uint64_t t) const {
  return period_[(t == 0 ? 0 : t - 1) % period_.size()][i];
}

const std::vector<weighted_edge>& topology::out(size_t i, uint64_t t) const {
  return columns_[(t == 0 ? 0 : t - 1) % columns_.size()][i];
}

std::vector<uint32_t> topology::in_neighbors(size_t i) const {
  std::vector<uint32_t> xs;
  for (const auto& rows : period_)
    for (const auto& e : rows[i].in)
      xs.push_back(e.peer);
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  return xs;
}

std::vector<uint32_t> topology::out_neighbors(size_t i) const {
  std::vector<uint32_t> xs;
  for (const auto& cols : columns_)
    for (const auto& e : cols[i])
      xs.push_back(e.peer);
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  return xs;
}

} // namespace fl::gossip
