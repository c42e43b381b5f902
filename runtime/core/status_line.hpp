#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/sinks/base_sink.h>

namespace fl {

/// A live progress line at the bottom of a terminal: `show` redraws it in
/// place; log lines written through `status_sink` appear above it and the
/// line is drawn again below them. Disabled (every call does nothing) when
/// the output is not a terminal: there, the log lines are the progress.
/// Thread-safe.
class status_line {
public:
  /// `out` is written only when `enabled`; `min_interval_s` throttles
  /// redraws (a fast asynchronous run would otherwise redraw per update).
  status_line(std::FILE* out, bool enabled, double min_interval_s = 0.1);

  /// A status line on stderr, enabled when stderr is a terminal whose
  /// TERM is not "dumb".
  static std::shared_ptr<status_line> for_stderr();

  bool enabled() const { return enabled_; }

  /// Replaces the line's text; drawn now unless drawn less than
  /// `min_interval_s` ago (then the next call or log line draws it).
  void show(const std::string& text);

  /// Erases the line (before a summary is printed; at the end of a run).
  void clear();

  /// Writes one already formatted log line above the status line.
  void write_log(const char* data, size_t size);

private:
  void erase_locked();
  void draw_locked();

  std::FILE* out_;
  bool enabled_;
  std::chrono::duration<double> min_interval_;
  std::mutex mtx_;
  std::string text_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

/// A spdlog sink that writes through a status line (plain text: the
/// terminal's line is redrawn around each message).
class status_sink : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit status_sink(std::shared_ptr<status_line> line)
    : line_(std::move(line)) {}

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

private:
  std::shared_ptr<status_line> line_;
};

} // namespace fl
