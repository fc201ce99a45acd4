#pragma once

namespace hoplink::transport {

inline constexpr const char* kImplementation = "hoplink";
inline constexpr const char* kVersion = HOPLINK_VERSION;

}  // namespace hoplink::transport
