// The key=value fields of a STATUS line (pt::Messages::status), as components report them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hoplink::transport {

using StatusFields = std::vector<std::pair<std::string, std::string>>;

inline void add_field(StatusFields& fields, const char* key, std::uint64_t value) {
  fields.emplace_back(key, std::to_string(value));
}

}  // namespace hoplink::transport
