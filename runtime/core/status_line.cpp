#include "runtime/core/status_line.hpp"

#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace fl {

status_line::status_line(std::FILE* out, bool enabled, double min_interval_s)
  : out_(out), enabled_(enabled), min_interval_(min_interval_s) {
}

std::shared_ptr<status_line> status_line::for_stderr() {
  const char* term = std::getenv("TERM");
  const bool tty = ::isatty(STDERR_FILENO) == 1 && term != nullptr
                   && std::strcmp(term, "dumb") != 0;
  return std::make_shared<status_line>(stderr, tty);
}

void status_line::erase_locked() {
  if (drawn_)
    std::fputs("\r\033[K", out_);
  drawn_ = false;
}

void status_line::draw_locked() {
  if (text_.empty())
    return;
  std::fputs("\r\033[K", out_);
  std::fputs(text_.c_str(), out_);
  std::fflush(out_);
  drawn_ = true;
  last_draw_ = std::chrono::steady_clock::now();
}

void status_line::show(const std::string& text) {
  if (!enabled_)
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  text_ = text;
  if (std::chrono::steady_clock::now() - last_draw_ >= min_interval_)
    draw_locked();
}

void status_line::clear() {
  if (!enabled_)
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  erase_locked();
  text_.clear();
  std::fflush(out_);
}

void status_line::write_log(const char* data, size_t size) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (enabled_)
    erase_locked();
  std::fwrite(data, 1, size, out_);
  if (enabled_)
    draw_locked();
}

void status_sink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  line_->write_log(formatted.data(), formatted.size());
}

void status_sink::flush_() {
}

} // namespace fl
