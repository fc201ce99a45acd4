#include <cctype>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "app/bridge_line.hpp"
#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"
#include "pt/args.hpp"

namespace hoplink::fuzz {
namespace {

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  for (const char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

bool is_fingerprint(std::string_view word) {
  if (word.size() != 40) return false;
  for (const char c : word) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A torrc Bridge line as tor reads it: [Bridge] transport address [fingerprint] k=v...; words split at
// whitespace, every argument with an '='.
struct BridgeLine {
  std::string transport;
  PeerAddress address;
  pt::Args args;
};

std::optional<BridgeLine> read_line(std::string_view text) {
  auto w = words(text);
  std::size_t i = !w.empty() && w[0] == "Bridge" ? 1 : 0;
  if (w.size() < i + 2 || !pt::is_valid_transport_name(w[i])) return std::nullopt;
  BridgeLine line;
  line.transport = w[i++];
  const auto address = PeerAddress::parse(w[i++]);
  if (!address) return std::nullopt;
  line.address = *address;
  if (i < w.size() && is_fingerprint(w[i])) ++i;
  for (; i < w.size(); ++i) {
    const auto equals = w[i].find('=');
    if (equals == std::string::npos || equals == 0) return std::nullopt;
    line.args.emplace_back(w[i].substr(0, equals), w[i].substr(equals + 1));
  }
  return line;
}

}  // namespace

int fuzz_bridge_line(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto line = read_line(text);
  if (!line) return 0;

  // The address prints as it parsed.
  const auto reparsed = PeerAddress::parse(line->address.to_string());
  FUZZ_CHECK(reparsed && *reparsed == line->address);

  // tor hands the arguments to a client transport as SOCKS5 credentials: they must arrive as written.
  std::set<std::string> keys;
  bool unique = true;
  for (const auto& [key, value] : line->args) unique = keys.insert(key).second && unique;
  const auto socks = pt::parse_socks_args(pt::format_socks_args(line->args));
  FUZZ_CHECK(socks.has_value() == unique);
  if (socks) {
    FUZZ_CHECK(*socks == line->args);
    for (const auto& [key, value] : line->args) FUZZ_CHECK(pt::find_arg(*socks, key) == value);
  }

  // What a bridge writes for this transport, address and arguments reads back as the same line (the
  // unspecified address as the "<IP ADDRESS>" placeholder, the fingerprint as "<FINGERPRINT>").
  const transport::ServedTransport served{line->transport, line->address, line->args};
  const auto written = transport::bridge_line(served);
  const auto w = words(written);
  std::size_t i = 0;
  FUZZ_CHECK(w.size() >= 4 && w[i++] == "Bridge" && w[i++] == line->transport);
  if (line->address.is_unspecified()) {
    FUZZ_CHECK(w[i++] == "<IP" && w[i++] == "ADDRESS>:" + std::to_string(line->address.port()));
  } else {
    const auto address = PeerAddress::parse(w[i++]);
    FUZZ_CHECK(address && *address == line->address);
  }
  FUZZ_CHECK(i < w.size() && w[i++] == "<FINGERPRINT>");
  const auto back = read_line("Bridge " + line->transport + " " + line->address.to_string() + " " +
                              written.substr(written.find("<FINGERPRINT>") + 13));
  FUZZ_CHECK(back && back->args == line->args);

  // The file: comment lines, then exactly that line.
  const auto file = transport::bridge_line_file({served});
  std::size_t bridges = 0;
  std::size_t start = 0;
  while (start < file.size()) {
    const auto end = file.find('\n', start);
    FUZZ_CHECK(end != std::string::npos);
    const std::string_view one(file.data() + start, end - start);
    if (one.empty() || one[0] != '#') {
      FUZZ_CHECK(one == written);
      ++bridges;
    }
    start = end + 1;
  }
  FUZZ_CHECK(bridges == 1);
  return 0;
}

}  // namespace hoplink::fuzz
