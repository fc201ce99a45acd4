// Fuzzed bytes as an argument list of any shape: key NUL value NUL key NUL value..., for the harnesses that
// hand arbitrary pairs to code that takes pt::Args (no escaping dialect in the way).
#pragma once

#include <string_view>

#include "pt/args.hpp"

namespace hoplink::fuzz {

// Every pair as it comes, empty and repeated keys included; a key at the very end gets an empty value.
inline pt::Args nul_separated_args(std::string_view text) {
  const auto next_field = [&text] {
    const auto end = text.find('\0');
    const auto field = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    return field;
  };
  pt::Args args;
  while (!text.empty()) {
    const auto key = next_field();
    const auto value = next_field();
    args.emplace_back(key, value);
  }
  return args;
}

}  // namespace hoplink::fuzz
