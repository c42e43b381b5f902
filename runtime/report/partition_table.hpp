#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace fl::report {

/// Samples per class per client, as `fl-node sim --partition-csv` writes
/// them: a header `client,samples,class_0,...` and one row per client.
struct partition_table {
  std::vector<std::string> clients;
  std::vector<std::string> classes;
  std::vector<std::vector<uint64_t>> counts; ///< [client][class]
};

/// Reads a partition CSV. Errors: `io_error` (unreadable),
/// `invalid_config` naming file:line (a wrong header, a row whose field
/// count differs from the header's, a count that is not a whole number).
caf::expected<partition_table> read_partition_csv(const std::string& path);

} // namespace fl::report
