#include "cli/options.hpp"

#include <filesystem>

#include "cli/setup.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/storage/manifest.hpp"

namespace fl::cli {

option_set::option_set(CLI::App& cmd, unsigned scope) {
  cmd.add_option("-c,--config", config_file_,
                 "TOML file with settings, or a metrics .jsonl file to "
                 "repeat the run its manifest describes (flags override "
                 "either)")
    ->check(CLI::ExistingFile);
  node_config defaults;
  for (const auto& s : all_settings()) {
    if ((s.scope & scope) == 0)
      continue;
    auto value = std::make_shared<std::string>();
    CLI::Option* opt = nullptr;
    if (s.boolean) {
      // A flag without a value; `--resume` sets the setting to true.
      auto flag = std::make_shared<bool>(false);
      opt = cmd.add_flag("--" + s.flag, *flag, s.help + "  [" + s.key + "]");
      flags_.emplace(s.key, flag);
    } else {
      opt = cmd.add_option("--" + s.flag, *value,
                           s.help + "  [" + s.key + ", default "
                             + value_text(defaults, s.key) + "]");
      opt->type_name("");
    }
    values_.emplace(s.key, value);
    options_.emplace(s.key, opt);
  }
}

caf::expected<node_config> option_set::resolve() const {
  node_config cfg;
  if (!config_file_.empty()) {
    // A metrics file reruns the run its manifest describes.
    if (is_metrics_file(config_file_)) {
      auto toml = manifest_config(config_file_);
      if (!toml)
        return std::move(toml.error());
      if (auto err = load_toml_string(cfg, *toml, config_file_ + " (manifest)"))
        return err;
    } else if (auto err = load_toml_file(cfg, config_file_)) {
      return err;
    }
  }
  for (const auto& [key, opt] : options_) {
    if (opt->count() == 0)
      continue;
    auto f = flags_.find(key);
    const auto& text = f != flags_.end() ? std::string{*f->second ? "true"
                                                                  : "false"}
                                         : *values_.at(key);
    if (auto err = set_from_string(cfg, key, text))
      return err;
  }
  if (auto err = validate(cfg))
    return err;
  if (auto err = validate_plugins(cfg))
    return err;
  if (!config_file_.empty() && is_metrics_file(config_file_)
      && !cfg.output.metrics.empty()) {
    std::error_code ec;
    if (std::filesystem::equivalent(config_file_, cfg.output.metrics, ec))
      return make_fl_error(errc::invalid_config,
                           "the run would overwrite '" + config_file_
                             + "', the metrics file it repeats; pass "
                               "--metrics with another path");
  }
  return cfg;
}

} // namespace fl::cli
