#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/client.hpp"
#include "actors/virtual_clients.hpp"
#include "cli/setup.hpp"
#include "runtime/core/config.hpp"
#include "runtime/federation/client_profiles.hpp"

namespace fl::cli {

/// The clients with global indices [first, first + count) of a federation
/// of `total` clients, made on demand: ids "client-<index>", their data from
/// the partitioner named in `cfg.data` (seeded, so the same client gets the
/// same data whichever process hosts it), their speed and availability from
/// the profiles. Holds one pair of sample lists per client (none at all for
/// the synthetic model, whose client c trains on [600 c, 600 c + 600)), so a
/// million clients fit in one process.
class client_roster : public std::enable_shared_from_this<client_roster> {
public:
  /// Errors: from the partitioner (e.g. too few samples).
  static caf::expected<std::shared_ptr<const client_roster>>
  make(const node_config& cfg, const training_setup& training, uint64_t first,
       uint64_t count, uint64_t total);

  uint64_t first() const noexcept { return first_; }
  uint64_t count() const noexcept { return count_; }
  const model_layout& layout() const noexcept { return layout_; }

  /// The training samples client `index` announces.
  uint64_t num_samples(uint64_t index) const;

  /// Everything client `index` is (its settings for one task).
  client_settings settings(uint64_t index) const;

  /// What a host of these clients needs (actors/virtual_clients.hpp).
  virtual_clients_settings host_settings(
    std::shared_ptr<const client_profiles> profiles) const;

  /// Says, loudly, which of these clients attack (when any do).
  void log_attackers(const loggers& log) const;

private:
  client_roster() = default;

  using samples_ptr = std::shared_ptr<const std::vector<int64_t>>;

  uint64_t first_ = 0;
  uint64_t count_ = 0;
  bool synthetic_ = false;
  std::vector<samples_ptr> train_;   ///< by offset; empty when synthetic
  std::vector<samples_ptr> holdout_; ///< by offset; null = none
  model_layout layout_;
  fit_config fit_;
  compression_settings compression_;
  uint64_t seed_ = 0;
  double holdout_share_ = 0;
  double byzantine_fraction_ = 0;
  std::string byzantine_attack_;
  double byzantine_scale_ = 0;
};

/// The speed and availability profiles `cfg.federation` describes (seeded,
/// or read from `client_trace`); null when every client computes as
/// measured and is always online.
/// Errors: from client_profiles::read_trace.
caf::expected<std::shared_ptr<const client_profiles>>
make_profiles(const node_config& cfg, uint64_t total);

/// The partition of the whole federation (per-client sample and class
/// counts): printed as a table to stdout when `print_table`, written as
/// CSV to `csv_path` when not empty. Returns the process exit code.
int print_partition_report(const node_config& cfg, uint64_t total,
                           bool print_table = true,
                           const std::string& csv_path = "");

} // namespace fl::cli
