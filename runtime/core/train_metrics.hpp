#pragma once

namespace fl {

/// What a client reports about one local fit (carried in Update messages,
/// produced by trainers, read by strategies).
struct train_metrics {
  double loss = 0;          ///< mean training loss of the last local epoch
  double accuracy = 0;      ///< training accuracy of the last epoch, [0, 1]
  double train_seconds = 0; ///< wall time spent training
};

} // namespace fl
