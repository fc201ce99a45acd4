#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"
#include "nul_separated_args.hpp"
#include "pt/args.hpp"

namespace hoplink::fuzz {
namespace {

// Any Args with unique, non-empty keys must survive both dialects unchanged.
pt::Args args_from(std::string_view text) {
  pt::Args args;
  std::set<std::string> keys;
  for (auto& [key, value] : nul_separated_args(text)) {
    if (!key.empty() && keys.insert(key).second) args.emplace_back(std::move(key), std::move(value));
  }
  return args;
}

void check_round_trips(const pt::Args& args) {
  const auto socks = pt::parse_socks_args(pt::format_socks_args(args));
  FUZZ_CHECK(socks && *socks == args);
  const auto smethod = pt::parse_smethod_args(pt::format_smethod_args(args));
  FUZZ_CHECK(smethod && *smethod == args);
}

}  // namespace

int fuzz_args(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // Whatever parses must format to something that parses back to the same list.
  if (const auto socks = pt::parse_socks_args(text)) check_round_trips(*socks);
  if (const auto smethod = pt::parse_smethod_args(text)) check_round_trips(*smethod);
  if (const auto options = pt::parse_server_transport_options(text)) {
    for (const auto& [name, args] : *options) {
      FUZZ_CHECK(pt::is_valid_transport_name(name));
      FUZZ_CHECK(!args.empty());
      check_round_trips(args);
    }
  }
  check_round_trips(args_from(text));

  if (pt::is_valid_transport_name(text)) {
    FUZZ_CHECK(!text.empty() && (text[0] < '0' || text[0] > '9'));
  }
  return 0;
}

}  // namespace hoplink::fuzz
