#include <optional>
#include <sstream>
#include <string>

#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"
#include "pt/messages.hpp"

namespace hoplink::fuzz {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Reads back a LOG line's MESSAGE="..." the way tor's C-string decoder would.
std::optional<std::string> unquote(std::string_view quoted) {
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') return std::nullopt;
  quoted = quoted.substr(1, quoted.size() - 2);
  std::string out;
  for (std::size_t i = 0; i < quoted.size(); ++i) {
    if (quoted[i] == '"') return std::nullopt;  // an unescaped quote would end the value early
    if (quoted[i] != '\\') {
      out.push_back(quoted[i]);
      continue;
    }
    if (++i == quoted.size()) return std::nullopt;
    switch (quoted[i]) {
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case '"':
      case '\\':
        out.push_back(quoted[i]);
        break;
      case 'x': {
        if (i + 2 >= quoted.size()) return std::nullopt;
        const int high = hex_digit(quoted[i + 1]);
        const int low = hex_digit(quoted[i + 2]);
        if (high < 0 || low < 0) return std::nullopt;
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

void check_lines(const std::string& text, std::size_t expected_lines) {
  std::size_t lines = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == '\n') {
      ++lines;
      continue;
    }
    FUZZ_CHECK(byte >= 0x20 && byte != 0x7f);
  }
  FUZZ_CHECK(lines == expected_lines);
  FUZZ_CHECK(text.empty() || text.back() == '\n');
}

}  // namespace

int fuzz_messages(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto severity = static_cast<pt::Severity>(size == 0 ? 0 : data[0] % 5);
  if (!text.empty()) text.remove_prefix(1);

  {
    std::ostringstream out;
    pt::Messages(out).log(severity, text);
    const auto line = out.str();
    check_lines(line, 1);
    const std::string prefix = "LOG SEVERITY=" + std::string(pt::to_string(severity)) + " MESSAGE=";
    FUZZ_CHECK(line.starts_with(prefix));
    const auto message =
        unquote(std::string_view(line).substr(prefix.size(), line.size() - prefix.size() - 1));
    FUZZ_CHECK(message);
    std::string without_nul(text);
    std::erase(without_nul, '\0');
    FUZZ_CHECK(*message == without_nul);
  }

  // The text split in half: a transport name and a value or message.
  const auto half = text.substr(0, text.size() / 2);
  const auto rest = text.substr(text.size() / 2);
  std::ostringstream out;
  pt::Messages messages(out);
  messages.env_error(text);
  messages.proxy_error(text);
  messages.cmethod(half, *PeerAddress::parse("127.0.0.1:1"));
  messages.cmethod_error(half, rest);
  messages.smethod(half, *PeerAddress::parse("[::1]:2"), {{std::string(half), std::string(rest)}});
  messages.smethod_error(half, rest);
  messages.status(half, {{"K", std::string(rest)}, {std::string(rest), "v"}});
  messages.status_version(half, rest);
  check_lines(out.str(), 8);
  return 0;
}

}  // namespace hoplink::fuzz
