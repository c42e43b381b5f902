#pragma once

#include <torch/nn/module.h>

#include "runtime/core/flat_model.hpp"

namespace fl {

/// Moves every parameter of `module` (in `named_parameters()` order) into one
/// new flat_model and makes each parameter a view into it: after this call,
/// optimizer steps write straight into the returned buffer, and writing the
/// buffer (e.g. a received global model) changes the module. Flattening and
/// restoring are therefore free.
///
/// The returned flat_model must outlive every use of `module`'s parameters
/// and must not be replaced; only assign into it. Buffers (e.g. batch-norm
/// statistics) are not part of the flat model.
flat_model bind_flat(torch::nn::Module& module);

} // namespace fl
