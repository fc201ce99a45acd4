// The SOCKS5 client side of tor: greeting, optional RFC 1929 carrying the bridge-line args, CONNECT to the
// bridge's IPv4 address, and the 10-byte reply.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "net.hpp"
#include "pt_lines.hpp"

namespace hoplink::itest {

// SOCKS5 reply codes (RFC 1928).
enum SocksReply : std::uint8_t {
  kSocksSucceeded = 0x00,
  kSocksGeneralFailure = 0x01,
  kSocksNotAllowed = 0x02,
  kSocksNetworkUnreachable = 0x03,
  kSocksHostUnreachable = 0x04,
  kSocksConnectionRefused = 0x05,
  kSocksTtlExpired = 0x06,
  kSocksCommandNotSupported = 0x07,
  kSocksAddressNotSupported = 0x08,
};

struct SocksOutcome {
  Fd fd;                              // the connected stream when reply == 0
  std::optional<std::uint8_t> reply;  // REP, if a well-formed reply arrived
  std::string error;                  // what went wrong before a reply, empty otherwise
  std::chrono::milliseconds elapsed{0};
  bool connected() const { return reply == kSocksSucceeded && fd; }
  std::string describe() const;
};

// Connects to the SOCKS server on 127.0.0.1:socks_port and asks for `target`. With args (the bridge
// line's k=v pairs) it offers methods 00 and 02 and sends them as RFC 1929 username/password the way tor
// does; without, it offers 00 only.
SocksOutcome socks5_connect(std::uint16_t socks_port, const Endpoint& target, const KeyValues& args,
                            Deadline deadline);

// Escapes k=v pairs as tor's SOCKS args: "k=v;k=v" with '\' before ';', '=' and '\'.
std::string encode_socks_args(const KeyValues& args);

std::string socks_reply_name(std::uint8_t rep);

}  // namespace hoplink::itest
