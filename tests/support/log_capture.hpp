#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <spdlog/sinks/base_sink.h>

#include "runtime/core/logging.hpp"

namespace fl::test {

/// A thread-safe spdlog sink that keeps every formatted line in memory.
class string_sink : public spdlog::sinks::base_sink<std::mutex> {
public:
  std::string text() {
    std::lock_guard<std::mutex> guard{mutex_};
    return text_;
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    text_.append(buf.data(), buf.size());
  }
  void flush_() override {}

private:
  std::string text_;
};

/// Loggers that write into a string, so tests can assert on what was logged.
class log_capture {
public:
  log_capture()
    : sink_(std::make_shared<string_sink>()),
      log_(make_loggers_with_sink(sink_)) {}

  const loggers& log() const { return log_; }
  std::string text() { return sink_->text(); }

private:
  std::shared_ptr<string_sink> sink_;
  loggers log_;
};

} // namespace fl::test
