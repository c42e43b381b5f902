#pragma once

namespace fl {

/// The fedactor version (the CMake project version), e.g. "0.1.0".
const char* build_version();

/// The source commit the binary was built from (`git describe --always
/// --dirty`), or "unknown" when built outside a git checkout.
const char* build_commit();

} // namespace fl
