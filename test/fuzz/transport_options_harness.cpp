#include <cctype>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "app/options.hpp"
#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"
#include "nul_separated_args.hpp"
#include "pt/args.hpp"

namespace hoplink::fuzz {
namespace {

using transport::LinkOptions;

// The per-link settings by their key, as numbers, to compare before and after.
std::vector<std::pair<std::string_view, long long>> fields(const LinkOptions& link) {
  const auto& a = link.association;
  return {{"mtu", static_cast<long long>(a.mtu)},
          {"send-buffer", static_cast<long long>(a.send_buffer)},
          {"receive-buffer", static_cast<long long>(a.receive_buffer)},
          {"max-window", static_cast<long long>(a.max_window)},
          {"heartbeat-interval", a.heartbeat_interval.count()},
          {"dead-peer-timeout", a.dead_peer_timeout.count()},
          {"connect-timeout", link.connect_timeout.count()},
          {"handshake-timeout", link.handshake_timeout.count()},
          {"max-links", static_cast<long long>(link.max_links)}};
}

// Boost's config-file syntax, which apply_transport_options writes the pairs in, ignores blanks around keys.
bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}
std::string_view trimmed(std::string_view text) {
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

std::string escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
      out += hex;
    }
  }
  return out;
}

bool plain_number(std::string_view text) {
  if (text.empty() || text.size() > 12) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// apply_transport_options either throws OptionsError, leaving the caller's copy for the next transport, or
// sets exactly the keys given, each to its value, within the ranges of the command line.
void apply_checked(const pt::Args& args, const transport::DatagramOptions& datagrams) {
  const LinkOptions before;
  LinkOptions link = before;
  try {
    transport::apply_transport_options(link, args, datagrams);
  } catch (const transport::OptionsError& e) {
    FUZZ_CHECK(e.what()[0] != '\0');
    return;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "apply_transport_options threw a %s: %s\n", typeid(e).name(), e.what());
    FUZZ_CHECK(!"only OptionsError may escape apply_transport_options");
  }
  const auto old_values = fields(before);
  const auto new_values = fields(link);
  for (std::size_t i = 0; i < old_values.size(); ++i) {
    const auto key = old_values[i].first;
    const pt::Args::value_type* given = nullptr;
    for (const auto& pair : args) {
      if (trimmed(pair.first) == key) given = &pair;
    }
    if (given == nullptr) {
      if (new_values[i].second != old_values[i].second) {
        std::fprintf(stderr, "%.*s changed without being given, by:", static_cast<int>(key.size()),
                     key.data());
        for (const auto& [k, v] : args)
          std::fprintf(stderr, " \"%s\"=\"%s\"", escaped(k).c_str(), escaped(v).c_str());
        std::fprintf(stderr, "\n");
      }
      FUZZ_CHECK(new_values[i].second == old_values[i].second);
    } else if (plain_number(given->second)) {
      FUZZ_CHECK(new_values[i].second == std::stoll(given->second));
    }
  }
  FUZZ_CHECK(link.association.mtu >= 576 && link.association.mtu <= 9000);
  FUZZ_CHECK(link.max_links >= 1);
  if (const auto limit = datagrams.max_udp_payload()) FUZZ_CHECK(link.association.mtu <= *limit);
}

}  // namespace

int fuzz_transport_options(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // data[0] bit 0: TOR_PT_SERVER_TRANSPORT_OPTIONS text (tor's escaping, per transport); else key NUL value
  // NUL pairs, handed over as they are (whatever tor's parser would let through). Bit 1: the dpdk backend,
  // whose frame size (bits 2-7) bounds the mtu.
  transport::DatagramOptions datagrams;
  if ((data[0] & 2) != 0) {
    datagrams.backend = transport::IoBackend::dpdk;
    datagrams.dpdk.mtu = 576 + 128u * (data[0] >> 2);
  }
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1) != 0) {
    if (const auto options = pt::parse_server_transport_options(text)) {
      for (const auto& [name, args] : *options) apply_checked(args, datagrams);
    }
    return 0;
  }
  apply_checked(nul_separated_args(text), datagrams);
  return 0;
}

}  // namespace hoplink::fuzz
