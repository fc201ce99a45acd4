// Parsers for the lines a pluggable transport prints on stdout (PT 1.0 as tor 0.4.x reads them), written
// independently of hoplink's pt-spec so the tests check hoplink against the spec, not against itself.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net.hpp"

namespace hoplink::itest {

using KeyValues = std::map<std::string, std::string>;

// "CMETHOD name socks5 ip:port" / "SMETHOD name ip:port [ARGS:k=v,k=v]".
struct MethodLine {
  std::string name;
  std::string protocol;  // CMETHOD only
  Endpoint address;
  KeyValues args;  // SMETHOD ARGS, unescaped
};
std::optional<MethodLine> parse_cmethod(std::string_view line);
std::optional<MethodLine> parse_smethod(std::string_view line);

// "CMETHOD-ERROR name msg" / "SMETHOD-ERROR name msg".
struct MethodError {
  std::string name;
  std::string message;
};
std::optional<MethodError> parse_method_error(std::string_view keyword, std::string_view line);

// `LOG SEVERITY=x MESSAGE="..."` with the message unescaped.
struct LogLine {
  std::string severity;
  std::string message;
};
std::optional<LogLine> parse_log(std::string_view line);

// `STATUS K=V K="quoted" ...` as tor's kvline parser reads it.
std::optional<KeyValues> parse_status(std::string_view line);

// Space-separated K=V pairs; a value may be a C-style quoted string. nullopt if malformed.
std::optional<KeyValues> parse_kvline(std::string_view text);
// "k=v,k=v" with '\' escaping '\', '=' and ','.
std::optional<KeyValues> parse_smethod_args(std::string_view text);

bool is_transport_name(std::string_view name);

// Whether `line` is one of the lines tor accepts from a PT, and well formed. `why` says what is wrong.
bool is_well_formed_pt_line(std::string_view line, std::string* why = nullptr);

// Convenience predicates for Process::wait_for_line.
inline auto starts_with(std::string prefix) {
  return [prefix = std::move(prefix)](const std::string& line) { return line.starts_with(prefix); };
}
inline auto equals(std::string text) {
  return [text = std::move(text)](const std::string& line) { return line == text; };
}

}  // namespace hoplink::itest
