#pragma once

// Small TorchScript modules built in C++ (no Python), saved to files, as a
// PyTorch user would export them with torch.jit.script(...).save(...).
// Defined in script_modules.cpp: torch/script.h brings glog's CHECK macro,
// which must not meet Catch's in a test file.

#include <cstdint>
#include <string>

namespace fl::test {

/// y = (x * scale) W^T + b on flattened samples: `inputs` features to
/// `outputs` scores. `scale` is a float buffer (part of the flat model),
/// `calls` an integer buffer (left out of it).
void save_linear_module(const std::string& path, int64_t inputs,
                        int64_t outputs);

/// A small CNN on [batch, 1, side, side] images: conv3x3(4) - relu -
/// linear to `classes`, with the conv in TorchScript's own conv2d.
void save_conv_module(const std::string& path, int64_t side, int64_t classes);

/// A module whose forward returns one value per sample (no class axis).
void save_summing_module(const std::string& path, int64_t inputs);

/// A module with a parameter but no forward method.
void save_module_without_forward(const std::string& path);

} // namespace fl::test
