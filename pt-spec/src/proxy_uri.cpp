#include "proxy_uri.hpp"

#include <optional>

namespace hoplink::pt::detail {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The user information of a URI is percent-encoded (RFC 3986 section 2.1); a '%' not followed by two hex
// digits is malformed.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

}  // namespace

Result<ProxyUri, std::string> parse_proxy_uri(std::string_view text) {
  ProxyUri proxy;
  std::string_view rest;
  if (starts_with_ignoring_case(text, "socks5://")) {
    proxy.scheme = ProxyUri::Scheme::socks5;
    rest = text.substr(9);
  } else if (starts_with_ignoring_case(text, "socks4a://")) {
    proxy.scheme = ProxyUri::Scheme::socks4a;
    rest = text.substr(10);
  } else if (starts_with_ignoring_case(text, "http://")) {
    proxy.scheme = ProxyUri::Scheme::http;
    rest = text.substr(7);
  } else {
    return fail(std::string("unsupported proxy scheme (want socks5, socks4a or http)"));
  }

  // The host is an address literal and cannot hold '@', so the last '@' ends the user information even
  // when tor passes a password containing '@' unencoded.
  const auto at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const auto userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const auto colon = userinfo.find(':');
    auto username = percent_decode(userinfo.substr(0, colon));
    if (!username) return fail(std::string("malformed proxy username"));
    proxy.username = std::move(*username);
    const bool has_password = colon != std::string_view::npos;
    if (has_password) {
      auto password = percent_decode(userinfo.substr(colon + 1));
      if (!password) return fail(std::string("malformed proxy password"));
      proxy.password = std::move(*password);
    }
    switch (proxy.scheme) {
      case ProxyUri::Scheme::socks5:
        // RFC 1929 carries each in one length byte and neither may be empty.
        if (proxy.username.empty() || proxy.username.size() > 255 || !has_password ||
            proxy.password.empty() || proxy.password.size() > 255) {
          return fail(std::string("socks5 proxy needs a username and a password of 1 to 255 bytes"));
        }
        break;
      case ProxyUri::Scheme::socks4a:
        return fail(std::string("socks4a proxy does not take a username or password"));
      case ProxyUri::Scheme::http:
        if (proxy.username.empty()) return fail(std::string("http proxy username is empty"));
        break;
    }
  }

  auto address = PeerAddress::parse(rest);
  if (!address) return fail(std::string("proxy address is not ip:port"));
  if (address->port() == 0) return fail(std::string("proxy port is 0"));
  proxy.address = *address;
  return proxy;
}

}  // namespace hoplink::pt::detail
