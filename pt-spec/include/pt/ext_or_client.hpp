// The Extended ORPort client (tor's ext-orport-spec.txt): SAFE_COOKIE authentication, then USERADDR,
// TRANSPORT and DONE, waiting for OKAY before any link byte is sent. Sans-I/O: bytes from tor in, bytes for
// tor out.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace hoplink::pt {

using AuthCookie = std::array<std::byte, 32>;
using Nonce = std::array<std::byte, 32>;

// The auth cookie file: exactly 64 bytes, "! Extended ORPort Auth Cookie !\x0a" then the cookie.
Result<AuthCookie, std::string> parse_auth_cookie(std::span<const std::byte> file_contents);
// 32 bytes from OpenSSL's RAND_bytes.
Nonce random_nonce();

// HMAC-SHA256(cookie, label || client_nonce || server_nonce) for the two labels.
std::array<std::byte, 32> ext_or_server_hash(const AuthCookie& cookie, const Nonce& client_nonce,
                                             const Nonce& server_nonce);
std::array<std::byte, 32> ext_or_client_hash(const AuthCookie& cookie, const Nonce& client_nonce,
                                             const Nonce& server_nonce);

class ExtOrClient {
 public:
  enum class Status : std::uint8_t {
    need_more,
    ready,   // OKAY received: link bytes may flow; leftover() holds any bytes tor already sent
    denied,  // DENY, or authentication refused by tor
    failed,  // protocol error or forged server hash: close
  };

  // user_address: the client's address as "1.2.3.4:5678" or "[::1]:5678" (USERADDR); transport: TRANSPORT.
  ExtOrClient(const AuthCookie& cookie, const Nonce& client_nonce, std::string user_address,
              std::string transport);

  Status receive(std::span<const std::byte> in, std::vector<std::byte>& out);
  Status status() const { return status_; }
  std::span<const std::byte> leftover() const { return leftover_; }
  const std::string& error() const { return error_; }

 private:
  AuthCookie cookie_;
  Nonce client_nonce_;
  std::string user_address_;
  std::string transport_;
  Status status_ = Status::need_more;
  std::uint8_t stage_ = 0;
  std::vector<std::byte> buffer_;
  std::vector<std::byte> leftover_;
  std::string error_;
};

}  // namespace hoplink::pt
