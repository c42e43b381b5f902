#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace fl {

/// The sample indices of each client.
using partition = std::vector<std::vector<int64_t>>;

/// Partitioners that follow FedLab's algorithms
/// (fedlab/utils/dataset/functional.py) step for step, so the same
/// parameters give the same statistics (not the same indices: the random
/// generators differ). All are pure and deterministic for a given seed;
/// every client gets at least one sample or the call fails with
/// `invalid_config` explaining why.

/// IID, balanced: shuffle, then equal shares (the remainder is spread one
/// sample each over the first clients).
caf::expected<partition> partition_iid(uint64_t num_samples,
                                       uint64_t num_clients, uint64_t seed);

/// IID, unbalanced (FedLab's lognormal_unbalance_split + homo_partition):
/// sizes ~ LogNormal(log(floor(n/K)), sigma), scaled to n and truncated,
/// the shortfall added to the first client; then filled from a shuffle.
/// With sigma 0, floor(n/K) each (the remainder unused, as in FedLab).
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

/// Dirichlet label skew (FedLab's hetero_dir_partition): for each class in
/// turn, split its samples over clients with proportions ~ Dir(alpha),
/// where a client that already holds n/K samples or more gets none (the
/// cap; a client passes it only with the class that took it over, and the
/// last client, as in FedLab, also gets the at most one sample per class
/// that rounding leaves after the last cut). The
/// whole split is redrawn (at most 1000 times) until every client has at
/// least `min_samples` (0 = the number of classes, FedLab's default);
/// fails with a clear error if alpha is too small for that.
caf::expected<partition> partition_dirichlet(const std::vector<int64_t>& labels,
                                             uint64_t num_clients, double alpha,
                                             uint64_t seed,
                                             uint64_t min_samples = 0);

/// #label quantity skew (FedLab's label_skew_quantity_based_partition):
/// client c holds class c mod C and labels_per_client - 1 other distinct
/// classes drawn uniformly; each class is split into near-equal parts
/// among the clients that hold it (a class nobody holds is left out).
caf::expected<partition> partition_labels(const std::vector<int64_t>& labels,
                                          uint64_t num_clients,
                                          uint64_t labels_per_client,
                                          uint64_t seed);

/// Natural partition (LEAF-style datasets): every distinct owner id is one
/// client, in ascending id order (client 0 holds the smallest id), with its
/// samples in index order. `num_clients` must equal the number of distinct
/// owners, so the federation is exactly the data's users.
/// Errors: `invalid_config` when no owner ids are given or the number of
/// clients differs (the message gives the number of owners).
caf::expected<partition> partition_by_owner(const std::vector<int64_t>& owners,
                                            uint64_t num_clients);

/// Summary statistics of a partition.
struct partition_stats {
  uint64_t clients = 0, samples = 0;
  uint64_t min_size = 0, median_size = 0, max_size = 0;
  double mean_classes_10 = 0; ///< classes with >= 10 samples, per client
};

partition_stats summarize(const partition& p,
                          const std::vector<int64_t>& labels,
                          int64_t num_classes);

/// Per-client sample and class counts as a table (one line per client plus
/// a summary line), for `--partition-report`.
std::string partition_report(const partition& p,
                             const std::vector<int64_t>& labels,
                             int64_t num_classes);

/// Per-client class counts as CSV: a header `client,samples,class_0,...`
/// and one row per client (`fl-node sim --partition-csv`, read by
/// `fl-node report --partition`).
std::string partition_csv(const partition& p,
                          const std::vector<int64_t>& labels,
                          int64_t num_classes);

} // namespace fl
