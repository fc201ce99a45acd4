// Bounds for every wait in the integration tests: generous, because the box is shared, but finite.
#pragma once

#include <chrono>

namespace hoplink::itest::timeouts {

using namespace std::chrono_literals;

inline constexpr std::chrono::milliseconds kStartup = 15s;    // spawn to *METHODS DONE
inline constexpr std::chrono::milliseconds kExit = 5s;        // error paths: line printed to exit
inline constexpr std::chrono::milliseconds kPromptExit = 2s;  // SIGTERM / stdin close to exit
inline constexpr std::chrono::milliseconds kLinkSetup = 20s;  // SOCKS CONNECT to reply
inline constexpr std::chrono::milliseconds kSmallLink = 60s;  // a link carrying a few MB
inline constexpr std::chrono::milliseconds kBulk = 120s;      // 100 MB both ways
inline constexpr std::chrono::milliseconds kClose = 10s;      // one side closes to the other seeing it
inline constexpr std::chrono::milliseconds kLogLine = 10s;    // an event to its LOG/STATUS line

}  // namespace hoplink::itest::timeouts
