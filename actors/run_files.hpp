#pragma once

#include "runtime/core/errors.hpp"
#include "runtime/storage/metrics.hpp"

namespace fl {

/// Opens the metrics files of the serving actor `self` (a sync or async
/// server, whose state has `metrics`, `client_metrics` and `log`) from its
/// settings `cfg` (`metrics_path`, `client_metrics_path`, `manifest`),
/// appending when `append` (a resumed run). On failure it logs why and ends
/// `self` with that error, and returns false.
template <class Self, class Settings>
bool open_run_files(Self* self, const Settings& cfg, bool append) {
  auto& st = self->state;
  auto sinks = open_run_sinks(cfg.metrics_path, cfg.client_metrics_path,
                              append, cfg.manifest);
  if (!sinks) {
    st.log.node->error("{}", describe(sinks.error()));
    self->quit(sinks.error());
    return false;
  }
  st.metrics = std::move(sinks->records);
  st.client_metrics = std::move(sinks->clients);
  return true;
}

} // namespace fl
