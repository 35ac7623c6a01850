// Logging through an injected sink with levels. The core never writes to stdout or
// stderr itself: the daemon installs a sink that does, the simulator one that stamps
// virtual time, tests one that records. Formatting is printf-style (g++ 12 has no
// <format>), and is skipped entirely when the level is disabled.
#pragma once

#include <cstdarg>
#include <string>
#include <string_view>

namespace tapwire {

enum class LogLevel { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

std::string_view to_string(LogLevel level);
// Accepts "trace", "debug", "info", "warn", "error", "off".
bool parse_log_level(std::string_view text, LogLevel& out);

class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void write(LogLevel level, std::string_view component, std::string_view message) = 0;
};

// Drops everything; the default so that an unconfigured component is silent.
class NullLogSink final : public LogSink {
 public:
  void write(LogLevel, std::string_view, std::string_view) override {}
  static NullLogSink& instance();
};

// A component's handle on the sink: a name prefix and a minimum level.
class Logger {
 public:
  Logger() : sink_(&NullLogSink::instance()) {}
  Logger(LogSink& sink, std::string component, LogLevel level = LogLevel::info)
      : sink_(&sink), component_(std::move(component)), level_(level) {}

  bool enabled(LogLevel level) const { return level >= level_ && level_ != LogLevel::off; }
  void set_level(LogLevel level) { level_ = level; }
  LogLevel level() const { return level_; }
  const std::string& component() const { return component_; }
  LogSink& sink() const { return *sink_; }
  Logger child(std::string_view suffix) const;

  void log(LogLevel level, const char* fmt, ...) const __attribute__((format(printf, 3, 4)));

 private:
  LogSink* sink_;
  std::string component_;
  LogLevel level_ = LogLevel::info;
};

}  // namespace tapwire

// Level check before argument evaluation, so disabled logs cost one comparison.
#define TW_LOG(logger, lvl, ...)                                         \
  do {                                                                   \
    if ((logger).enabled(::tapwire::LogLevel::lvl))                      \
      (logger).log(::tapwire::LogLevel::lvl, __VA_ARGS__);               \
  } while (0)
