#include "pt/messages.hpp"

#include <algorithm>

namespace hoplink::pt {
namespace {

bool is_control(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

// Free text at the end of a line (ENV-ERROR, CMETHOD-ERROR, ...): tor reads it to the end of the line, so
// the only thing to prevent is a control character, above all a newline, that would end it early.
std::string one_line(std::string_view text) {
  std::string out(text);
  std::replace_if(out.begin(), out.end(), is_control, ' ');
  return out;
}

// A double-quoted string with C escapes, as tor's kvline parser unescapes it. NUL cannot be represented
// there at all, so it is dropped.
std::string quoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\0':
        break;
      default:
        if (is_control(c)) {
          const auto byte = static_cast<unsigned char>(c);
          out += "\\x";
          out.push_back(kHex[byte >> 4]);
          out.push_back(kHex[byte & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

// A STATUS value is bare unless tor would split or misread it.
std::string status_value(std::string_view value) {
  const bool needs_quotes = value.empty() || std::any_of(value.begin(), value.end(), [](char c) {
                              return c == ' ' || c == '"' || c == '\\' || c == '=' || is_control(c);
                            });
  return needs_quotes ? quoted(value) : std::string(value);
}

bool is_valid_status_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

}  // namespace

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::error:
      return "error";
    case Severity::warning:
      return "warning";
    case Severity::notice:
      return "notice";
    case Severity::info:
      return "info";
    case Severity::debug:
      return "debug";
  }
  return "notice";
}

void Messages::line(std::string_view text) {
  out_ << text << '\n';
  out_.flush();
}

void Messages::version() {
  line("VERSION 1");
}

void Messages::version_error() {
  line("VERSION-ERROR no-version");
}

void Messages::env_error(std::string_view message) {
  line("ENV-ERROR " + one_line(message));
}

void Messages::proxy_done() {
  line("PROXY DONE");
}

void Messages::proxy_error(std::string_view message) {
  line("PROXY-ERROR " + one_line(message));
}

// A transport name that breaks the grammar would make tor reject the whole negotiation, so such a caller
// bug is reported through a LOG line instead of the method line.
void Messages::cmethod(std::string_view transport, const PeerAddress& socks_address) {
  if (!is_valid_transport_name(transport)) {
    log(Severity::error, "invalid transport name for CMETHOD: " + std::string(transport));
    return;
  }
  line("CMETHOD " + std::string(transport) + " socks5 " + socks_address.to_string());
}

void Messages::cmethod_error(std::string_view transport, std::string_view message) {
  if (!is_valid_transport_name(transport)) {
    log(Severity::error, "invalid transport name for CMETHOD-ERROR: " + std::string(transport));
    return;
  }
  line("CMETHOD-ERROR " + std::string(transport) + " " + one_line(message));
}

void Messages::cmethods_done() {
  line("CMETHODS DONE");
}

void Messages::smethod(std::string_view transport, const PeerAddress& address, const Args& args) {
  if (!is_valid_transport_name(transport)) {
    log(Severity::error, "invalid transport name for SMETHOD: " + std::string(transport));
    return;
  }
  std::string text = "SMETHOD " + std::string(transport) + " " + address.to_string();
  if (!args.empty()) {
    const auto formatted = format_smethod_args(args);
    // tor splits the line at spaces before it unescapes anything: no escape can carry one.
    if (std::any_of(formatted.begin(), formatted.end(), [](char c) { return c == ' ' || is_control(c); })) {
      smethod_error(transport, "SMETHOD arguments contain a space or control character");
      return;
    }
    text += " ARGS:" + formatted;
  }
  line(text);
}

void Messages::smethod_error(std::string_view transport, std::string_view message) {
  if (!is_valid_transport_name(transport)) {
    log(Severity::error, "invalid transport name for SMETHOD-ERROR: " + std::string(transport));
    return;
  }
  line("SMETHOD-ERROR " + std::string(transport) + " " + one_line(message));
}

void Messages::smethods_done() {
  line("SMETHODS DONE");
}

void Messages::log(Severity severity, std::string_view message) {
  line("LOG SEVERITY=" + std::string(to_string(severity)) + " MESSAGE=" + quoted(message));
}

void Messages::status(std::string_view transport,
                      const std::vector<std::pair<std::string, std::string>>& fields) {
  if (!is_valid_transport_name(transport)) {
    log(Severity::error, "invalid transport name for STATUS: " + std::string(transport));
    return;
  }
  std::string text = "STATUS TRANSPORT=" + std::string(transport);
  for (const auto& [key, value] : fields) {
    if (!is_valid_status_key(key)) {
      log(Severity::error, "invalid STATUS key: " + key);
      return;
    }
    text += " " + key + "=" + status_value(value);
  }
  line(text);
}

void Messages::status_version(std::string_view implementation, std::string_view version) {
  line("STATUS TYPE=version IMPLEMENTATION=" + status_value(implementation) +
       " VERSION=" + status_value(version));
}

}  // namespace hoplink::pt
