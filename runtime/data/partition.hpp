#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace fl {

/// The sample indices of each client.
using partition = std::vector<std::vector<int64_t>>;

/// Partitioners after FedLab's (fedlab/utils/dataset/partition.py). All are
/// pure and deterministic for a given seed; every client gets at least one
/// sample or the call fails with `invalid_config` explaining why.

/// IID, balanced: shuffle, then equal shares (the remainder is spread one
/// sample each over the first clients).
caf::expected<partition> partition_iid(uint64_t num_samples,
                                       uint64_t num_clients, uint64_t seed);

/// IID, unbalanced: client sizes drawn log-normal(log(n/K) - sigma^2/2,
/// sigma), scaled to sum to n (each >= 1); then filled from a shuffle.
caf::expected<partition> partition_iid_unbalanced(uint64_t num_samples,
                                                  uint64_t num_clients,
                                                  double sigma, uint64_t seed);

/// Shards (FedAvg paper): sort by label, cut into num_clients x
/// shards_per_client equal shards, give each client shards_per_client
/// random shards.
caf::expected<partition> partition_shards(const std::vector<int64_t>& labels,
                                          uint64_t num_clients,
                                          uint64_t shards_per_client,
                                          uint64_t seed);

/// Dirichlet label skew ("hetero-dir"): for each class, split its samples
/// over clients with proportions ~ Dir(alpha). Redraws (bounded) until every
/// client has at least `min_samples`; fails with a clear error if alpha is
/// too small for that.
caf::expected<partition> partition_dirichlet(const std::vector<int64_t>& labels,
                                             uint64_t num_clients, double alpha,
                                             uint64_t seed,
                                             uint64_t min_samples = 10);

/// #label quantity skew: each client holds `labels_per_client` distinct
/// classes; each class's samples are split evenly among the clients that
/// hold it (every class is held by at least one client when possible).
caf::expected<partition> partition_labels(const std::vector<int64_t>& labels,
                                          uint64_t num_clients,
                                          uint64_t labels_per_client,
                                          uint64_t seed);

/// Per-client sample and class counts as a table (one line per client plus
/// a summary line), for `--report`-style output.
std::string partition_report(const partition& p,
                             const std::vector<int64_t>& labels,
                             int64_t num_classes);

} // namespace fl
