// parse_options() on a list of words, for the option tests.
#pragma once

#include <string>
#include <vector>

#include "app/options.hpp"

namespace hoplink::transport::test {

inline Options parse(std::vector<std::string> words) {
  std::vector<const char*> argv{"hoplink"};
  for (const auto& word : words) argv.push_back(word.c_str());
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

// The OptionsError message parse() throws, or "" when it accepts the words.
inline std::string message_of(std::vector<std::string> words) {
  try {
    parse(std::move(words));
  } catch (const OptionsError& e) {
    return e.what();
  }
  return {};
}

}  // namespace hoplink::transport::test
