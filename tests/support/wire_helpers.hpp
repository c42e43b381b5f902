#pragma once

// Small helpers of the wire tests: frames as the codec takes them, and the
// fl error code of a refusal.

#include <memory>

#include <catch2/catch.hpp>

#include "messages/types.hpp"
#include "runtime/core/errors.hpp"

namespace fl::test {

/// A frame as a receiver holds it.
inline std::shared_ptr<const byte_buffer> share(byte_buffer b) {
  return std::make_shared<const byte_buffer>(std::move(b));
}

/// The fl error code of `err` (which must be one of ours).
inline errc code_of(const caf::error& err) {
  REQUIRE(err.category() == caf::atom("fl"));
  return static_cast<errc>(err.code());
}

} // namespace fl::test
