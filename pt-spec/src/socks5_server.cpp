#include "pt/socks5_server.hpp"

#include <algorithm>

#include "byte_reader.hpp"
#include "socks5_wire.hpp"

namespace hoplink::pt {
namespace {

using detail::ByteReader;
using namespace detail::socks5;

enum Stage : std::uint8_t { greeting, authentication, request, done };

void push(std::vector<std::byte>& out, std::initializer_list<std::uint8_t> bytes) {
  for (const auto byte : bytes) out.push_back(static_cast<std::byte>(byte));
}

void push_reply(std::vector<std::byte>& out, Socks5Reply reply) {
  const auto bytes = socks5_reply(reply);
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// What one parse step decided: wait for more bytes, consumed `used` bytes and moved on, or failed.
struct Step {
  enum class Outcome : std::uint8_t { need_more, advanced, failed } outcome;
  std::size_t used = 0;
};

constexpr Step need_more() {
  return {Step::Outcome::need_more, 0};
}
constexpr Step advanced(std::size_t used) {
  return {Step::Outcome::advanced, used};
}
constexpr Step failed() {
  return {Step::Outcome::failed, 0};
}

}  // namespace

std::array<std::byte, 10> socks5_reply(Socks5Reply reply) {
  return {std::byte{kVersion}, static_cast<std::byte>(reply),
          std::byte{0x00},     std::byte{kAtypIpv4},
          std::byte{0},        std::byte{0},
          std::byte{0},        std::byte{0},
          std::byte{0},        std::byte{0}};
}

namespace {

// +-----+----------+----------+
// | VER | NMETHODS | METHODS  |
// +-----+----------+----------+
// |  1  |    1     | 1 to 255 |
// +-----+----------+----------+
Step parse_greeting(ByteReader& reader, std::vector<std::byte>& out, bool& authenticate, std::string& error) {
  const auto version = reader.u8();
  if (!version) return need_more();
  if (*version != kVersion) {
    error = "SOCKS greeting: version is not 5";
    return failed();
  }
  const auto count = reader.u8();
  if (!count) return need_more();
  const auto methods = reader.bytes(*count);
  if (!methods) return need_more();
  const auto offers = [&](std::uint8_t method) {
    return std::find(methods->begin(), methods->end(), std::byte{method}) != methods->end();
  };
  // tor offers username/password exactly when the bridge line has arguments: prefer it.
  if (offers(kMethodUserPass) || offers(kMethodNoAuth)) {
    authenticate = offers(kMethodUserPass);
    push(out, {kVersion, authenticate ? kMethodUserPass : kMethodNoAuth});
    return advanced(reader.consumed());
  }
  push(out, {kVersion, kNoAcceptableMethod});
  error = "SOCKS greeting: neither no-auth nor username/password offered";
  return failed();
}

// RFC 1929; PT args are UNAME || PASSWD, and a PASSWD of one NUL byte stands for nothing.
// +-----+------+----------+------+----------+
// | VER | ULEN |  UNAME   | PLEN |  PASSWD  |
// +-----+------+----------+------+----------+
// |  1  |  1   | 1 to 255 |  1   | 1 to 255 |
// +-----+------+----------+------+----------+
Step parse_authentication(ByteReader& reader, std::vector<std::byte>& out, Args& args, std::string& error) {
  const auto version = reader.u8();
  if (!version) return need_more();
  if (*version != kAuthVersion) {
    push(out, {kAuthVersion, 0x01});
    error = "SOCKS authentication: version is not 1";
    return failed();
  }
  const auto ulen = reader.u8();
  if (!ulen) return need_more();
  const auto uname = reader.bytes(*ulen);
  if (!uname) return need_more();
  const auto plen = reader.u8();
  if (!plen) return need_more();
  auto passwd = reader.bytes(*plen);
  if (!passwd) return need_more();
  if (passwd->size() == 1 && (*passwd)[0] == std::byte{0}) passwd = passwd->first(0);

  std::string text;
  for (const auto byte : *uname) text.push_back(static_cast<char>(byte));
  for (const auto byte : *passwd) text.push_back(static_cast<char>(byte));
  auto parsed = text.find('\0') == std::string::npos ? parse_socks_args(text) : std::nullopt;
  if (!parsed) {
    push(out, {kAuthVersion, 0x01});
    error = "SOCKS authentication: malformed transport arguments";
    return failed();
  }
  push(out, {kAuthVersion, 0x00});
  args = std::move(*parsed);
  return advanced(reader.consumed());
}

// +-----+-----+-------+------+----------+----------+
// | VER | CMD |  RSV  | ATYP | DST.ADDR | DST.PORT |
// +-----+-----+-------+------+----------+----------+
// |  1  |  1  | X'00' |  1   | Variable |    2     |
// +-----+-----+-------+------+----------+----------+
// ATYP 01: 4 address bytes; 04: 16. tor hands a PT address literals only, so 03 (domain) is refused.
// Each field is judged as soon as it arrives, so a bad request fails without waiting for the rest.
Step parse_request(ByteReader& reader, std::vector<std::byte>& out, PeerAddress& target, std::string& error) {
  const auto version = reader.u8();
  if (!version) return need_more();
  if (*version != kVersion) {
    push_reply(out, Socks5Reply::general_failure);
    error = "SOCKS request: version is not 5";
    return failed();
  }
  const auto command = reader.u8();
  if (!command) return need_more();
  if (*command != kCommandConnect) {
    push_reply(out, Socks5Reply::command_not_supported);
    error = "SOCKS request: command " + std::to_string(*command) + " is not CONNECT";
    return failed();
  }
  if (!reader.u8()) return need_more();  // RSV
  const auto atyp = reader.u8();
  if (!atyp) return need_more();
  if (*atyp != kAtypIpv4 && *atyp != kAtypIpv6) {
    push_reply(out, Socks5Reply::address_type_not_supported);
    error = *atyp == kAtypDomain ? "SOCKS request: domain names are not supported"
                                 : "SOCKS request: unknown address type " + std::to_string(*atyp);
    return failed();
  }
  const auto address = read_ip_and_port(reader, *atyp);
  if (!address) return need_more();
  target = *address;
  return advanced(reader.consumed());
}

}  // namespace

Socks5Server::Status Socks5Server::receive(std::span<const std::byte> in, std::vector<std::byte>& out) {
  if (status_ == Status::failed) return status_;
  if (status_ == Status::request_ready) {
    leftover_.insert(leftover_.end(), in.begin(), in.end());
    return status_;
  }
  buffer_.insert(buffer_.end(), in.begin(), in.end());

  // Each message is bounded (at most 2 + 255, 3 + 255 + 255 and 22 bytes) and parsed as soon as it is
  // complete, so the buffer never holds more than one message plus what tor sent past it.
  while (stage_ != Stage::done) {
    ByteReader reader{std::span<const std::byte>(buffer_)};
    Step step = need_more();
    switch (stage_) {
      case Stage::greeting: {
        bool authenticate = false;
        step = parse_greeting(reader, out, authenticate, error_);
        if (step.outcome == Step::Outcome::advanced) {
          stage_ = authenticate ? Stage::authentication : Stage::request;
        }
        break;
      }
      case Stage::authentication:
        step = parse_authentication(reader, out, request_.args, error_);
        if (step.outcome == Step::Outcome::advanced) stage_ = Stage::request;
        break;
      default:
        step = parse_request(reader, out, request_.target, error_);
        if (step.outcome == Step::Outcome::advanced) stage_ = Stage::done;
        break;
    }
    if (step.outcome == Step::Outcome::need_more) return status_;
    if (step.outcome == Step::Outcome::failed) {
      buffer_.clear();
      return status_ = Status::failed;
    }
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(step.used));
  }

  leftover_ = std::move(buffer_);
  buffer_.clear();
  return status_ = Status::request_ready;
}

}  // namespace hoplink::pt
