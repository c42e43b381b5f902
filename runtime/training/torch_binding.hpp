#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>

#include "runtime/core/flat_model.hpp"

namespace fl {

/// Moves every tensor of `state` (in order; each float32) into one new
/// flat_model and makes each tensor a view into it: after this call,
/// optimizer steps write straight into the returned buffer, and writing the
/// buffer (e.g. a received global model) changes the model. Flattening and
/// restoring are therefore free.
///
/// The returned flat_model must outlive every use of the tensors and must
/// not be replaced; only assign into it.
flat_model
bind_flat(const std::vector<std::pair<std::string, torch::Tensor>>& state);

/// The same for every parameter of `module` (in `named_parameters()`
/// order). Buffers are not part of this flat model.
flat_model bind_flat(torch::nn::Module& module);

} // namespace fl
