#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/compression/encoded_tensor.hpp"

namespace fl {

/// What a client does to its update before it travels (`[compression]`).
struct compression_settings {
  std::string method = "none"; ///< none | topk | qsgd | fp16 | bf16
  double topk_ratio = 0.01;    ///< share of values kept by top-k, (0, 1]
  uint32_t qsgd_bits = 8;      ///< 8 (127 levels) or 4 (7 levels)
  uint32_t qsgd_bucket = 512;  ///< values per QSGD norm
  /// Error feedback: what compression dropped is added to the next update
  /// (Seide et al. 2014; Karimireddy et al. 2019, "Error Feedback Fixes
  /// SignSGD"), so nothing is lost, only delayed.
  bool error_feedback = true;
  /// DGC momentum correction (Lin et al. 2018, "Deep Gradient Compression",
  /// arXiv:1712.01887): u = m u + delta, v = v + u, send top-k(v), clear
  /// the sent entries of u and v. 0 = plain error feedback.
  double momentum = 0;
};

/// Checks the settings. Errors: `invalid_config` naming the bad one.
caf::error validate(const compression_settings& s);

/// One client's compressor: turns each update delta (client - base) into an
/// encoded tensor and keeps the error-feedback state between its updates
/// (so one per client, used by one fit at a time). Deterministic for a
/// seed: QSGD's stochastic rounding draws from it.
class compressor {
public:
  compressor(compression_settings s, uint64_t numel, uint64_t seed);

  /// Encodes `delta` (its size must be numel). The result owns its
  /// buffers. Errors: `size_mismatch`; `too_large` for a model QSGD or
  /// half precision cannot carry in one list (above 2^29 values).
  caf::expected<encoded_tensor> compress(span<const float> delta);

  const compression_settings& settings() const { return cfg_; }

  /// The L2 norm of the error-feedback residual (what is still owed).
  double residual_norm() const;

private:
  encoded_tensor topk(span<const float> v);
  encoded_tensor qsgd(span<const float> v);
  encoded_tensor half(span<const float> v, bool bf16);

  compression_settings cfg_;
  uint64_t numel_;
  uint64_t rng_state_;
  std::vector<float> residual_; ///< v of DGC; empty without feedback
  std::vector<float> velocity_; ///< u of DGC; empty without momentum
  std::vector<float> work_;     ///< the vector being compressed
};

} // namespace fl
