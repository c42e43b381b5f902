#include "runtime/core/errors.hpp"

#include <caf/deep_to_string.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace fl {

std::string to_string(errc x) {
  switch (x) {
    case errc::none: return "none";
    case errc::truncated_message: return "truncated_message";
    case errc::malformed_message: return "malformed_message";
    case errc::unknown_enum_value: return "unknown_enum_value";
    case errc::size_mismatch: return "size_mismatch";
    case errc::layout_mismatch: return "layout_mismatch";
    case errc::non_finite_value: return "non_finite_value";
    case errc::unsupported_dtype: return "unsupported_dtype";
    case errc::chunk_out_of_order: return "chunk_out_of_order";
    case errc::chunk_duplicate: return "chunk_duplicate";
    case errc::chunk_missing: return "chunk_missing";
    case errc::checksum_mismatch: return "checksum_mismatch";
    case errc::too_large: return "too_large";
    case errc::invalid_field: return "invalid_field";
    case errc::unexpected_message: return "unexpected_message";
    case errc::unauthorized: return "unauthorized";
    case errc::invalid_config: return "invalid_config";
    case errc::io_error: return "io_error";
    case errc::timeout: return "timeout";
    case errc::peer_lost: return "peer_lost";
    case errc::version_from_future: return "version_from_future";
    case errc::too_stale: return "too_stale";
    case errc::not_implemented: return "not_implemented";
    case errc::rejected_update: return "rejected_update";
    case errc::rejected_model: return "rejected_model";
    case errc::training_failed: return "training_failed";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

bool has_code(const caf::error& err, errc code) {
  return err.category() == caf::atom("fl")
         && err.code() == static_cast<uint8_t>(code);
}

caf::error make_fl_error(errc code, std::string context) {
  return caf::make_error(code, std::move(context));
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  std::string result;
  if (err.category() == caf::atom("fl"))
    result = "fl: " + to_string(static_cast<errc>(err.code()));
  else if (err.category() == caf::atom("system"))
    result = "system: " + caf::to_string(static_cast<caf::sec>(err.code()));
  else
    result = caf::to_string(err.category()) + ": "
             + std::to_string(static_cast<int>(err.code()));
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    result += " (" + ctx.get_as<std::string>(0) + ")";
  else if (!ctx.empty())
    result += " " + caf::deep_to_string(ctx);
  return result;
}

} // namespace fl
