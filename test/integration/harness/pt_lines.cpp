#include "pt_lines.hpp"

#include <set>

namespace hoplink::itest {
namespace {

std::vector<std::string_view> split_spaces(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = text.find(' ', i);
    if (j == std::string_view::npos) j = text.size();
    out.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// Strips "KEYWORD " and returns the rest, or nullopt if the line does not start with it.
std::optional<std::string_view> after_keyword(std::string_view line, std::string_view keyword) {
  if (!line.starts_with(keyword) || line.size() <= keyword.size() || line[keyword.size()] != ' ') {
    return std::nullopt;
  }
  return line.substr(keyword.size() + 1);
}

// Reads a C-style quoted string starting at text[i] == '"'; advances i past the closing quote.
std::optional<std::string> read_quoted(std::string_view text, std::size_t& i) {
  std::string out;
  ++i;
  while (i < text.size()) {
    char c = text[i++];
    if (c == '"') return out;
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (i >= text.size()) return std::nullopt;
    char e = text[i++];
    switch (e) {
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case '\\':
      case '"':
      case '\'':
        out.push_back(e);
        break;
      default:
        if (e >= '0' && e <= '7') {  // up to three octal digits
          int v = e - '0';
          for (int k = 0; k < 2 && i < text.size() && text[i] >= '0' && text[i] <= '7'; ++k) {
            v = v * 8 + (text[i++] - '0');
          }
          out.push_back(static_cast<char>(v));
        } else {
          return std::nullopt;
        }
    }
  }
  return std::nullopt;
}

bool method_error(std::string_view line, std::string_view keyword, std::string* why) {
  auto e = parse_method_error(keyword, line);
  if (!e) *why = std::string(keyword) + " needs a transport name and a message";
  return e.has_value();
}

}  // namespace

bool is_transport_name(std::string_view name) {
  if (name.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::optional<KeyValues> parse_kvline(std::string_view text) {
  KeyValues out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    std::size_t eq = i;
    while (eq < text.size() && text[eq] != '=' && text[eq] != ' ') ++eq;
    if (eq == i || eq >= text.size() || text[eq] != '=') return std::nullopt;
    std::string key(text.substr(i, eq - i));
    i = eq + 1;
    std::string value;
    if (i < text.size() && text[i] == '"') {
      auto q = read_quoted(text, i);
      if (!q) return std::nullopt;
      value = *q;
      if (i < text.size() && text[i] != ' ') return std::nullopt;
    } else {
      std::size_t end = text.find(' ', i);
      if (end == std::string_view::npos) end = text.size();
      value = std::string(text.substr(i, end - i));
      if (value.find('"') != std::string::npos) return std::nullopt;
      i = end;
    }
    if (out.contains(key)) return std::nullopt;
    out[key] = value;
  }
  return out;
}

std::optional<KeyValues> parse_smethod_args(std::string_view text) {
  KeyValues out;
  std::string key, value;
  bool in_value = false;
  auto finish = [&]() {
    if (!in_value || key.empty() || out.contains(key)) return false;
    out[key] = value;
    key.clear();
    value.clear();
    in_value = false;
    return true;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (++i >= text.size()) return std::nullopt;
      (in_value ? value : key).push_back(text[i]);
    } else if (c == '=' && !in_value) {
      in_value = true;
    } else if (c == ',') {
      if (!finish()) return std::nullopt;
    } else if (c == ' ') {
      return std::nullopt;
    } else {
      (in_value ? value : key).push_back(c);
    }
  }
  if (!text.empty() && !finish()) return std::nullopt;
  return out;
}

std::optional<MethodLine> parse_cmethod(std::string_view line) {
  auto rest = after_keyword(line, "CMETHOD");
  if (!rest) return std::nullopt;
  auto parts = split_spaces(*rest);
  if (parts.size() < 3 || !is_transport_name(parts[0])) return std::nullopt;
  if (parts[1] != "socks5" && parts[1] != "socks4") return std::nullopt;
  auto addr = parse_endpoint(parts[2]);
  if (!addr) return std::nullopt;
  MethodLine m{std::string(parts[0]), std::string(parts[1]), *addr, {}};
  for (std::size_t i = 3; i < parts.size(); ++i) {
    if (!parts[i].starts_with("ARGS:")) return std::nullopt;
    auto args = parse_smethod_args(parts[i].substr(5));
    if (!args) return std::nullopt;
    m.args = *args;
  }
  return m;
}

std::optional<MethodLine> parse_smethod(std::string_view line) {
  auto rest = after_keyword(line, "SMETHOD");
  if (!rest) return std::nullopt;
  auto parts = split_spaces(*rest);
  if (parts.size() < 2 || !is_transport_name(parts[0])) return std::nullopt;
  auto addr = parse_endpoint(parts[1]);
  if (!addr) return std::nullopt;
  MethodLine m{std::string(parts[0]), "", *addr, {}};
  for (std::size_t i = 2; i < parts.size(); ++i) {
    if (!parts[i].starts_with("ARGS:")) return std::nullopt;
    auto args = parse_smethod_args(parts[i].substr(5));
    if (!args) return std::nullopt;
    m.args = *args;
  }
  return m;
}

std::optional<MethodError> parse_method_error(std::string_view keyword, std::string_view line) {
  auto rest = after_keyword(line, keyword);
  if (!rest) return std::nullopt;
  auto sp = rest->find(' ');
  if (sp == std::string_view::npos || sp + 1 >= rest->size()) return std::nullopt;
  auto name = rest->substr(0, sp);
  if (!is_transport_name(name)) return std::nullopt;
  return MethodError{std::string(name), std::string(rest->substr(sp + 1))};
}

std::optional<LogLine> parse_log(std::string_view line) {
  auto rest = after_keyword(line, "LOG");
  if (!rest) return std::nullopt;
  auto kv = parse_kvline(*rest);
  if (!kv || kv->size() != 2 || !kv->contains("SEVERITY") || !kv->contains("MESSAGE")) return std::nullopt;
  static const std::set<std::string> severities{"error", "warning", "notice", "info", "debug"};
  if (!severities.contains(kv->at("SEVERITY"))) return std::nullopt;
  // MESSAGE must be quoted.
  auto pos = rest->find("MESSAGE=");
  if (pos == std::string_view::npos || pos + 8 >= rest->size() || (*rest)[pos + 8] != '"') {
    return std::nullopt;
  }
  return LogLine{kv->at("SEVERITY"), kv->at("MESSAGE")};
}

std::optional<KeyValues> parse_status(std::string_view line) {
  auto rest = after_keyword(line, "STATUS");
  if (!rest) return std::nullopt;
  auto kv = parse_kvline(*rest);
  if (!kv || kv->empty()) return std::nullopt;
  return kv;
}

bool is_well_formed_pt_line(std::string_view line, std::string* why) {
  std::string scratch;
  if (!why) why = &scratch;
  for (char c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      *why = "control character in line";
      return false;
    }
  }
  if (line == "VERSION 1" || line == "CMETHODS DONE" || line == "SMETHODS DONE" || line == "PROXY DONE") {
    return true;
  }
  auto keyword = line.substr(0, line.find(' '));
  auto has_message = [&](std::string_view kw) {
    auto rest = after_keyword(line, kw);
    if (!rest || rest->find_first_not_of(' ') == std::string_view::npos) {
      *why = std::string(kw) + " without a message";
      return false;
    }
    return true;
  };
  if (keyword == "VERSION-ERROR" || keyword == "ENV-ERROR" || keyword == "PROXY-ERROR") {
    return has_message(keyword);
  }
  if (keyword == "CMETHOD-ERROR" || keyword == "SMETHOD-ERROR") return method_error(line, keyword, why);
  if (keyword == "CMETHOD") {
    if (parse_cmethod(line)) return true;
    *why = "malformed CMETHOD";
    return false;
  }
  if (keyword == "SMETHOD") {
    if (parse_smethod(line)) return true;
    *why = "malformed SMETHOD";
    return false;
  }
  if (keyword == "LOG") {
    if (parse_log(line)) return true;
    *why = "malformed LOG (want SEVERITY=error|warning|notice|info|debug MESSAGE=\"...\")";
    return false;
  }
  if (keyword == "STATUS") {
    auto kv = parse_status(line);
    if (!kv) {
      *why = "malformed STATUS key=value list";
      return false;
    }
    if (kv->contains("TYPE") && kv->at("TYPE") == "version") {
      if (kv->contains("IMPLEMENTATION") && kv->contains("VERSION")) return true;
      *why = "STATUS TYPE=version without IMPLEMENTATION or VERSION";
      return false;
    }
    if (kv->contains("TRANSPORT") && is_transport_name(kv->at("TRANSPORT"))) return true;
    *why = "STATUS without TRANSPORT=name or TYPE=version";
    return false;
  }
  *why = "not a PT protocol line";
  return false;
}

}  // namespace hoplink::itest
