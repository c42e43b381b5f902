#pragma once

#include <map>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <caf/expected.hpp>

#include "runtime/core/config.hpp"

namespace fl::cli {

/// The flags of one subcommand: `--config FILE` plus one flag per setting in
/// `scope`. Values are kept as text until `resolve`, so that the precedence
/// is explicit: defaults < config file < flags.
class option_set {
public:
  option_set(CLI::App& cmd, unsigned scope);

  /// Builds the config: defaults, then the TOML file (if --config was given),
  /// then every flag that was given; then validates.
  /// Errors: `invalid_config`, `io_error` (file).
  caf::expected<node_config> resolve() const;

private:
  std::string config_file_;
  std::map<std::string, std::shared_ptr<std::string>> values_; ///< key -> text
  std::map<std::string, std::shared_ptr<bool>> flags_; ///< boolean keys
  std::map<std::string, CLI::Option*> options_;
};

} // namespace fl::cli
