// The SOCKS5 server side that tor talks to (RFC 1928, RFC 1929 username/password carrying PT args).
// Sans-I/O: bytes from tor in, bytes for tor out.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/peer_address.hpp"
#include "pt/args.hpp"

namespace hoplink::pt {

enum class Socks5Reply : std::uint8_t {
  succeeded = 0x00,
  general_failure = 0x01,
  not_allowed = 0x02,
  network_unreachable = 0x03,
  host_unreachable = 0x04,
  connection_refused = 0x05,
  ttl_expired = 0x06,
  command_not_supported = 0x07,
  address_type_not_supported = 0x08,
};

// 05 REP 00 01 00000000 0000
std::array<std::byte, 10> socks5_reply(Socks5Reply reply);

struct Socks5Request {
  PeerAddress target;  // CONNECT to an IPv4 or IPv6 literal (ATYP 01 / 04)
  Args args;           // parsed from UNAME||PASSWD; empty without authentication
};

class Socks5Server {
 public:
  enum class Status : std::uint8_t { need_more, request_ready, failed };

  // Consumes bytes from tor; appends what must be sent back to `out` (method choice, auth status, and on
  // failure the error reply, after which the connection must be closed). After request_ready, the caller
  // answers with socks5_reply(). Bytes past the request are kept in leftover().
  Status receive(std::span<const std::byte> in, std::vector<std::byte>& out);

  Status status() const { return status_; }
  const Socks5Request& request() const { return request_; }
  std::span<const std::byte> leftover() const { return leftover_; }
  // Why it failed, for a LOG line.
  const std::string& error() const { return error_; }

 private:
  Status status_ = Status::need_more;
  std::uint8_t stage_ = 0;
  std::vector<std::byte> buffer_;
  std::vector<std::byte> leftover_;
  Socks5Request request_;
  std::string error_;
};

}  // namespace hoplink::pt
