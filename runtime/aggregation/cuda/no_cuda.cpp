// Built when no CUDA compiler was found: the CUDA aggregator reports that
// plainly, and `device = auto` falls back to the CPU.

#include "runtime/aggregation/aggregator.hpp"
#include "runtime/aggregation/cuda/cuda_figures.hpp"
#include "runtime/core/errors.hpp"

namespace fl {

caf::expected<std::unique_ptr<aggregator>>
make_cuda_aggregator(const aggregator_options&) {
  return make_fl_error(errc::not_implemented,
                       "this build has no CUDA support (nvcc was not found "
                       "or FL_CUDA=OFF)");
}

caf::expected<cuda_figures> measure_cuda(const aggregator_options&, size_t,
                                         int) {
  return make_fl_error(errc::not_implemented, "this build has no CUDA support");
}

} // namespace fl
