#pragma once

#include <cstdint>

namespace fl {

/// What a client reports about one local fit (carried in Update messages,
/// produced by trainers, read by strategies).
struct train_metrics {
  double loss = 0;          ///< mean training loss of the last local epoch
  double accuracy = 0;      ///< training accuracy of the last epoch, [0, 1]
  double train_seconds = 0; ///< wall time spent training
  /// Optimizer steps taken (FedNova and SCAFFOLD need it); 0 = unknown.
  uint64_t local_steps = 0;
};

} // namespace fl
