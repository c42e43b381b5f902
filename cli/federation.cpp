#include "cli/federation.hpp"

#include <algorithm>
#include <chrono>

#include <spdlog/sinks/ringbuffer_sink.h>

#include "cli/commands.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/logging.hpp"

namespace fl {

federation::federation() = default;

federation::federation(node_config settings) : cfg_(std::move(settings)) {
}

caf::expected<federation> federation::from_file(const std::string& path) {
  node_config cfg;
  if (auto err = load_toml_file(cfg, path))
    return err;
  return federation{std::move(cfg)};
}

caf::error federation::set(const std::string& key, const std::string& value) {
  return set_from_string(cfg_, key, value);
}

federation& federation::use_trainer(trainer_factory make) {
  trainer_ = std::move(make);
  return *this;
}

federation& federation::use_dataset(std::shared_ptr<const dataset> data) {
  data_ = std::move(data);
  return *this;
}

federation& federation::use_strategy(const std::string& name,
                                     strategy_factory make) {
  register_strategy(name, std::move(make));
  cfg_.strategy.name = name;
  return *this;
}

federation& federation::use_strategy(std::shared_ptr<strategy> s) {
  const auto name = s->name();
  return use_strategy(name, [s](const strategy_settings&)
                              -> caf::expected<std::shared_ptr<strategy>> {
    return s;
  });
}

federation& federation::log_level(std::string level) {
  cfg_.output.log_level = std::move(level);
  return *this;
}

caf::expected<federation_result> federation::simulate() {
  return run(role::sim);
}

caf::expected<federation_result> federation::serve() {
  return run(role::server);
}

caf::error federation::join() {
  auto r = run(role::client);
  return r ? caf::none : std::move(r.error());
}

caf::error federation::relay() {
  auto r = run(role::scheduler);
  return r ? caf::none : std::move(r.error());
}

caf::expected<federation_result> federation::run(role r) {
  if (auto err = validate(cfg_))
    return err;
  if (auto err = cli::validate_plugins(cfg_))
    return err;
  auto log = make_loggers(cfg_.output.log_level, cfg_.output.log_file);
  if (!log)
    return std::move(log.error());
  // The runners log their errors; the last one becomes the returned error,
  // so errors pass the loggers whatever the console shows.
  auto errors = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1);
  errors->set_level(spdlog::level::err);
  errors->set_pattern("%v");
  const auto shown = spdlog::level::from_str(cfg_.output.log_level);
  for (const auto& l : {log->node, log->wire, log->train}) {
    for (const auto& sink : l->sinks())
      sink->set_level(shown);
    l->set_level(std::min(shown, spdlog::level::err));
    l->sinks().push_back(errors);
  }
  cli::node_plugins plug{trainer_, data_};
  cli::run_output out;
  out.print_summary = false;
  const auto start = std::chrono::steady_clock::now();
  int code = 0;
  switch (r) {
    case role::sim:
      code = cli::run_sim(cfg_, *log, plug, out);
      break;
    case role::server:
      code = cli::run_server(cfg_, *log, plug, out);
      break;
    case role::client:
      code = cli::run_client(cfg_, *log, plug);
      break;
    default:
      code = cli::run_scheduler(cfg_, *log, plug);
      break;
  }
  if (code != 0) {
    auto last = errors->last_formatted();
    std::string why = last.empty() ? "the run failed" : last.back();
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r'))
      why.pop_back();
    return make_fl_error(code == 2 ? errc::invalid_config
                                   : errc::training_failed,
                         why);
  }
  federation_result result;
  result.rounds = out.logs->rounds->records();
  result.versions = out.logs->versions->records();
  // The last evaluated model, whichever mode ran (one log stays empty).
  auto take_last_evaluated = [&result](const auto& records) {
    for (const auto& rec : records)
      if (rec.test_accuracy >= 0) {
        result.final_accuracy = rec.test_accuracy;
        result.final_loss = rec.test_loss;
      }
  };
  take_last_evaluated(result.rounds);
  take_last_evaluated(result.versions);
  result.wall_seconds = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  return result;
}

} // namespace fl
