#include "stack/base/log.h"

#include <cstdio>

namespace tapwire {

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::trace: return "trace";
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    case LogLevel::off: return "off";
  }
  return "?";
}

bool parse_log_level(std::string_view text, LogLevel& out) {
  for (LogLevel level : {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error,
                         LogLevel::off}) {
    if (text == to_string(level)) {
      out = level;
      return true;
    }
  }
  return false;
}

NullLogSink& NullLogSink::instance() {
  static NullLogSink sink;
  return sink;
}

Logger Logger::child(std::string_view suffix) const {
  Logger out = *this;
  out.component_ = component_.empty() ? std::string(suffix) : component_ + "." + std::string(suffix);
  return out;
}

void Logger::log(LogLevel level, const char* fmt, ...) const {
  if (!enabled(level)) return;
  char stack_buf[512];
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(stack_buf, sizeof stack_buf, fmt, args);
  va_end(args);
  if (n < 0) {
    va_end(copy);
    return;
  }
  if (static_cast<std::size_t>(n) < sizeof stack_buf) {
    va_end(copy);
    sink_->write(level, component_, std::string_view(stack_buf, static_cast<std::size_t>(n)));
    return;
  }
  std::string big(static_cast<std::size_t>(n) + 1, '\0');
  std::vsnprintf(big.data(), big.size(), fmt, copy);
  va_end(copy);
  big.resize(static_cast<std::size_t>(n));
  sink_->write(level, component_, big);
}

}  // namespace tapwire
