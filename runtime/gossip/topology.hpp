#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace fl::gossip {

/// One weighted edge of a mixing matrix W: `peer` is the other end, `weight`
/// the share of its model that is mixed in (row view) or that it receives
/// (column view).
struct weighted_edge {
  uint32_t peer = 0;
  double weight = 0;
};

/// Row i of W at one iteration: peer i's next model is
/// self_weight * x_i + sum(weight * x_peer) over `in`.
struct mixing_row {
  double self_weight = 1;
  std::vector<weighted_edge> in;
};

/// The virtual topology of a decentralized run: for every iteration t >= 1
/// a mixing matrix W_t (row-stochastic: each row sums to 1). Static
/// topologies have one W; the dynamic one-peer Exponential-2 graph cycles
/// through ceil(log2 n) of them. Immutable once made; shared by all peers
/// of a process.
class topology {
public:
  /// The built-in topologies, by name:
  ///   ring          i <-> i +- 1, weights 1/3 (1/2 for two peers)
  ///   exp2          static Exponential-2: i receives from i - 2^k for every
  ///                 2^k < n, uniform weights 1 / (in-degree + 1)
  ///   exp2-one-peer dynamic: at iteration t, i receives only from
  ///                 i - 2^((t - 1) mod ceil(log2 n)), weights 1/2
  ///   mesh          2-D grid (rows = largest divisor of n <= sqrt n, no
  ///                 wrap), Metropolis-Hastings weights
  ///   star          peer 0 linked to all others, Metropolis-Hastings
  ///   full          everyone with everyone, weights 1/n
  /// Errors: `invalid_config` for an unknown name or n = 0.
  static caf::expected<topology> make(const std::string& name, size_t n);

  /// A user topology from a text file of weighted edges, one per line:
  /// `i j w` means peer i takes share w of peer j's model (W[i][j]); `i i w`
  /// is peer i's own weight. Blank lines and `#` comments are ignored.
  /// Errors: `io_error`; `invalid_config` naming the file and line (a bad
  /// number, an index >= n, a weight not in (0, 1], a duplicate edge) or the
  /// first rule the whole graph breaks (see `check`).
  static caf::expected<topology> from_file(const std::string& path, size_t n);

  /// From explicit rows (one W per iteration of the period), checked.
  static caf::expected<topology>
  from_rows(std::string name, std::vector<std::vector<mixing_row>> period);

  const std::string& name() const noexcept { return name_; }
  size_t size() const noexcept { return size_; }
  /// Iterations until W repeats (1 for a static topology).
  size_t period() const noexcept { return period_.size(); }

  /// Row `i` of W at iteration t (>= 1).
  const mixing_row& row(size_t i, uint64_t t) const;

  /// Peers that mix peer i's model at iteration t (its out-neighbors),
  /// with the weight each gives it (column i of W, without the diagonal).
  const std::vector<weighted_edge>& out(size_t i, uint64_t t) const;

  /// Every peer that i ever receives from, over the whole period.
  std::vector<uint32_t> in_neighbors(size_t i) const;
  /// Every peer that i ever sends to, over the whole period.
  std::vector<uint32_t> out_neighbors(size_t i) const;

  /// Whether every W of the period is also column-stochastic, so that
  /// synchronous averaging keeps the plain mean of the peers' models.
  bool doubly_stochastic() const noexcept { return doubly_stochastic_; }

private:
  topology() = default;

  /// Checks the rules (each row sums to 1 within 1e-6, weights finite and
  /// in [0, 1], no self edge in `in`, and the union of the period's graphs
  /// strongly connected) and builds the column view.
  caf::error check();

  std::string name_;
  size_t size_ = 0;
  std::vector<std::vector<mixing_row>> period_;
  std::vector<std::vector<std::vector<weighted_edge>>> columns_;
  bool doubly_stochastic_ = false;
};

/// The names `topology::make` knows, for help texts.
const std::vector<std::string>& topology_names();

} // namespace fl::gossip
