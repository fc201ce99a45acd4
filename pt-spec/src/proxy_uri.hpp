// TOR_PT_PROXY: "socks5://[user:pass@]ip:port", "socks4a://ip:port" or "http://[user:pass@]ip:port".
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "pt/environment.hpp"

namespace hoplink::pt::detail {

// The error is a message for a PROXY-ERROR line.
Result<ProxyUri, std::string> parse_proxy_uri(std::string_view text);

}  // namespace hoplink::pt::detail
