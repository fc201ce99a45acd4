#include "pt/args.hpp"

#include <algorithm>

namespace hoplink::pt {
namespace {

constexpr char kEscape = '\\';

// Position of the first `wanted` not preceded by an escaping '\', or npos. Escaped characters are skipped
// whole, so "\\;" is an escaped backslash followed by a real separator.
std::size_t find_unescaped(std::string_view text, char wanted) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == kEscape) {
      ++i;
      continue;
    }
    if (text[i] == wanted) return i;
  }
  return std::string_view::npos;
}

std::vector<std::string_view> split_unescaped(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  while (true) {
    const auto at = find_unescaped(text, separator);
    pieces.push_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return pieces;
}

// '\' followed by any character stands for that character; a '\' with nothing after it is malformed.
std::optional<std::string> unescape(std::string_view text) {
  std::string result;
  result.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == kEscape) {
      if (++i == text.size()) return std::nullopt;
    }
    result.push_back(text[i]);
  }
  return result;
}

void append_escaped(std::string& out, std::string_view text, std::string_view special) {
  for (const char c : text) {
    if (c == kEscape || special.find(c) != std::string_view::npos) out.push_back(kEscape);
    out.push_back(c);
  }
}

bool has_key(const Args& args, std::string_view key) {
  return std::any_of(args.begin(), args.end(), [key](const auto& pair) { return pair.first == key; });
}

// One "k=v" item, split at its first unescaped '='. Appends to `args`; false when malformed.
bool add_pair(Args& args, std::string_view item) {
  const auto equals = find_unescaped(item, '=');
  if (equals == std::string_view::npos) return false;
  auto key = unescape(item.substr(0, equals));
  auto value = unescape(item.substr(equals + 1));
  if (!key || !value || key->empty() || has_key(args, *key)) return false;
  args.emplace_back(std::move(*key), std::move(*value));
  return true;
}

// "k=v<sep>k=v..."; the empty text is the empty list, an empty item (e.g. a trailing separator) is malformed.
std::optional<Args> parse_list(std::string_view text, char separator) {
  Args args;
  if (text.empty()) return args;
  for (const auto item : split_unescaped(text, separator)) {
    if (!add_pair(args, item)) return std::nullopt;
  }
  return args;
}

std::string format_list(const Args& args, char separator, std::string_view special) {
  std::string out;
  for (const auto& [key, value] : args) {
    if (!out.empty()) out.push_back(separator);
    append_escaped(out, key, special);
    out.push_back('=');
    append_escaped(out, value, special);
  }
  return out;
}

}  // namespace

std::optional<std::string> find_arg(const Args& args, std::string_view key) {
  for (const auto& [k, v] : args) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::optional<Args> parse_socks_args(std::string_view text) {
  return parse_list(text, ';');
}

std::string format_socks_args(const Args& args) {
  return format_list(args, ';', ";=");
}

std::string format_smethod_args(const Args& args) {
  return format_list(args, ',', ",=");
}

std::optional<Args> parse_smethod_args(std::string_view text) {
  return parse_list(text, ',');
}

// "name:k=v;name:k=v": each ';'-separated item names its transport before the first unescaped ':'. Items
// for the same transport accumulate in order.
std::optional<std::map<std::string, Args>> parse_server_transport_options(std::string_view text) {
  std::map<std::string, Args> options;
  if (text.empty()) return options;
  for (const auto item : split_unescaped(text, ';')) {
    const auto colon = find_unescaped(item, ':');
    if (colon == std::string_view::npos) return std::nullopt;
    const auto name = item.substr(0, colon);
    if (!is_valid_transport_name(name)) return std::nullopt;
    if (!add_pair(options[std::string(name)], item.substr(colon + 1))) return std::nullopt;
  }
  return options;
}

bool is_valid_transport_name(std::string_view name) {
  auto is_alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (name.empty() || !is_alpha(name.front())) return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char c) { return is_alpha(c) || is_digit(c); });
}

}  // namespace hoplink::pt
