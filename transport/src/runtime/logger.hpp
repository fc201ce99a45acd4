// LOG lines to tor (through pt::Messages), filtered by the configured severity.
#pragma once

#include <string_view>

#include "pt/messages.hpp"

namespace hoplink::transport {

class Logger {
 public:
  Logger(pt::Messages& messages, pt::Severity threshold) : messages_(messages), threshold_(threshold) {}

  // error < warning < notice < info < debug: a message is written when it is at most as verbose as the
  // threshold.
  bool enabled(pt::Severity severity) const { return severity <= threshold_; }
  void log(pt::Severity severity, std::string_view message) {
    if (enabled(severity)) messages_.log(severity, message);
  }
  void error(std::string_view message) { log(pt::Severity::error, message); }
  void warning(std::string_view message) { log(pt::Severity::warning, message); }
  void notice(std::string_view message) { log(pt::Severity::notice, message); }
  void info(std::string_view message) { log(pt::Severity::info, message); }
  void debug(std::string_view message) { log(pt::Severity::debug, message); }

  pt::Messages& messages() { return messages_; }

 private:
  pt::Messages& messages_;
  pt::Severity threshold_;
};

}  // namespace hoplink::transport
