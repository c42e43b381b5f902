#include "runtime/core/logging.hpp"

#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "runtime/core/errors.hpp"

namespace fl {

namespace {

loggers make_from_sinks(const std::vector<spdlog::sink_ptr>& sinks,
                        spdlog::level::level_enum lvl,
                        std::shared_ptr<status_line> status = nullptr) {
  auto make = [&](const char* name) {
    auto l = std::make_shared<spdlog::logger>(name, sinks.begin(),
                                              sinks.end());
    l->set_level(lvl);
    l->set_pattern("%H:%M:%S.%e %^%-5l%$ [%n] %v");
    l->flush_on(spdlog::level::warn);
    return l;
  };
  return loggers{make("node"), make("wire"), make("train"), std::move(status)};
}

} // namespace

caf::expected<loggers> make_loggers(const std::string& level,
                                    const std::string& file) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    return make_fl_error(errc::invalid_config,
                         "unknown log level '" + level + "'");
  std::vector<spdlog::sink_ptr> sinks;
  // Logs go to stderr so that stdout stays free for results (--print,
  // tables); on a terminal, through the live progress line.
  auto status = status_line::for_stderr();
  if (status->enabled())
    sinks.push_back(std::make_shared<status_sink>(status));
  else
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!file.empty()) {
    try {
      sinks.push_back(
        std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, false));
    } catch (const spdlog::spdlog_ex& e) {
      return make_fl_error(errc::io_error, "cannot open log file '" + file
                                             + "': " + e.what());
    }
  }
  return make_from_sinks(sinks, lvl, std::move(status));
}

loggers make_loggers_with_sink(std::shared_ptr<spdlog::sinks::sink> sink) {
  return make_from_sinks({std::move(sink)}, spdlog::level::trace);
}

} // namespace fl
