#include "pt/ext_or_client.hpp"

#include <openssl/crypto.h>

#include <algorithm>

#include "byte_reader.hpp"

namespace hoplink::pt {
namespace {

using detail::ByteReader;

constexpr std::uint8_t kAuthSafeCookie = 0x01;
constexpr std::uint16_t kCommandDone = 0x0000;
constexpr std::uint16_t kCommandUserAddr = 0x0001;
constexpr std::uint16_t kCommandTransport = 0x0002;
constexpr std::uint16_t kReplyOkay = 0x1000;
constexpr std::uint16_t kReplyDeny = 0x1001;
// Auth types are distinct non-zero bytes, so a list longer than this plus its terminator is garbage.
constexpr std::size_t kMaxAuthTypes = 255;

enum Stage : std::uint8_t { auth_types, server_hash, auth_status, command_reply, finished };

//  +----------+--------+------+
//  | CMD (u16)| LEN u16| BODY |
//  +----------+--------+------+
void append_command(std::vector<std::byte>& out, std::uint16_t command, std::string_view body) {
  detail::append_u16(out, command);
  detail::append_u16(out, static_cast<std::uint16_t>(body.size()));
  for (const char c : body) out.push_back(static_cast<std::byte>(c));
}

}  // namespace

ExtOrClient::ExtOrClient(const AuthCookie& cookie, const Nonce& client_nonce, std::string user_address,
                         std::string transport)
    : cookie_(cookie),
      client_nonce_(client_nonce),
      user_address_(std::move(user_address)),
      transport_(std::move(transport)) {}

ExtOrClient::Status ExtOrClient::receive(std::span<const std::byte> in, std::vector<std::byte>& out) {
  if (status_ == Status::ready) {
    leftover_.insert(leftover_.end(), in.begin(), in.end());
    return status_;
  }
  if (status_ != Status::need_more) return status_;
  buffer_.insert(buffer_.end(), in.begin(), in.end());

  auto fail_with = [this](Status status, std::string why) {
    error_ = std::move(why);
    buffer_.clear();
    return status_ = status;
  };

  while (stage_ != Stage::finished) {
    ByteReader reader{std::span<const std::byte>(buffer_)};

    if (stage_ == Stage::auth_types) {
      // tor: a list of supported auth types, one byte each, ended by 00.
      // +---------+-----+---------+----+
      // | TYPE 1  | ... | TYPE n  | 00 |
      // +---------+-----+---------+----+
      // Only the first kMaxAuthTypes + 1 bytes may hold the terminator, however the bytes were split.
      const auto searched = std::min(buffer_.size(), kMaxAuthTypes + 1);
      const auto end =
          std::find(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(searched), std::byte{0});
      if (end == buffer_.begin() + static_cast<std::ptrdiff_t>(searched)) {
        if (buffer_.size() > kMaxAuthTypes)
          return fail_with(Status::failed, "auth type list is not terminated");
        return status_;
      }
      if (std::find(buffer_.begin(), end, std::byte{kAuthSafeCookie}) == end) {
        return fail_with(Status::failed, "tor does not offer SAFE_COOKIE authentication");
      }
      // PT: the chosen type and the client nonce.
      // +----+-------------------+
      // | 01 | ClientNonce (32)  |
      // +----+-------------------+
      out.push_back(std::byte{kAuthSafeCookie});
      out.insert(out.end(), client_nonce_.begin(), client_nonce_.end());
      buffer_.erase(buffer_.begin(), end + 1);
      stage_ = Stage::server_hash;
    } else if (stage_ == Stage::server_hash) {
      // +------------------+-------------------+
      // | ServerHash (32)  | ServerNonce (32)  |
      // +------------------+-------------------+
      const auto hash = reader.bytes(32);
      const auto nonce_bytes = reader.bytes(32);
      if (!hash || !nonce_bytes) return status_;
      Nonce server_nonce;
      std::copy(nonce_bytes->begin(), nonce_bytes->end(), server_nonce.begin());
      const auto expected = ext_or_server_hash(cookie_, client_nonce_, server_nonce);
      // Constant time: the hash must not leak how many leading bytes an attacker guessed right.
      if (CRYPTO_memcmp(expected.data(), hash->data(), expected.size()) != 0) {
        return fail_with(Status::failed, "forged server hash");
      }
      // +------------------+
      // | ClientHash (32)  |
      // +------------------+
      const auto client_hash = ext_or_client_hash(cookie_, client_nonce_, server_nonce);
      out.insert(out.end(), client_hash.begin(), client_hash.end());
      buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(reader.consumed()));
      stage_ = Stage::auth_status;
    } else if (stage_ == Stage::auth_status) {
      // +---------------------------------+
      // | STATUS (1): 01 ok, 00 refused   |
      // +---------------------------------+
      const auto result = reader.u8();
      if (!result) return status_;
      if (*result == 0x00) return fail_with(Status::denied, "tor refused our authentication");
      if (*result != 0x01) return fail_with(Status::failed, "unknown authentication status from tor");
      if (user_address_.size() > 0xffff || transport_.size() > 0xffff) {
        return fail_with(Status::failed, "USERADDR or TRANSPORT longer than 65535 bytes");
      }
      if (!user_address_.empty()) append_command(out, kCommandUserAddr, user_address_);
      if (!transport_.empty()) append_command(out, kCommandTransport, transport_);
      append_command(out, kCommandDone, {});
      buffer_.erase(buffer_.begin());
      stage_ = Stage::command_reply;
    } else {
      // +-----------+-----------+-------------+
      // | CMD (u16) | LEN (u16) | BODY (LEN)  |
      // +-----------+-----------+-------------+
      // OKAY 0x1000 or DENY 0x1001; tor sends nothing else here, so anything else is a protocol error,
      // judged without waiting for its body.
      const auto command = reader.u16();
      const auto length = reader.u16();
      if (!command || !length) return status_;
      if (*command != kReplyOkay && *command != kReplyDeny) {
        return fail_with(Status::failed,
                         "unexpected Extended ORPort reply command " + std::to_string(*command));
      }
      if (!reader.bytes(*length)) return status_;
      if (*command == kReplyDeny) return fail_with(Status::denied, "tor denied the connection (DENY)");
      leftover_.assign(buffer_.begin() + static_cast<std::ptrdiff_t>(reader.consumed()), buffer_.end());
      buffer_.clear();
      stage_ = Stage::finished;
    }
  }
  return status_ = Status::ready;
}

}  // namespace hoplink::pt
