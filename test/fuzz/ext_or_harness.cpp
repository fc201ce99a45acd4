#include <algorithm>
#include <vector>

#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"
#include "pt/ext_or_client.hpp"

namespace hoplink::fuzz {
namespace {

using Status = pt::ExtOrClient::Status;

constexpr std::string_view kUserAddress = "192.0.2.1:4321";
constexpr std::string_view kTransport = "sctp";
// 01 || ClientNonce, ClientHash, USERADDR, TRANSPORT and DONE.
constexpr std::size_t kReadyOutput = 33 + 32 + (4 + kUserAddress.size()) + (4 + kTransport.size()) + 4;

pt::AuthCookie cookie() {
  pt::AuthCookie value;
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<std::byte>(i * 7 + 1);
  return value;
}

pt::Nonce client_nonce() {
  pt::Nonce value;
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<std::byte>(0xc0 ^ i);
  return value;
}

struct Run {
  pt::ExtOrClient client{cookie(), client_nonce(), std::string(kUserAddress), std::string(kTransport)};
  std::vector<std::byte> out;
};

void check_consistent(const Run& run) {
  // Whatever tor sends, the PT never says more than the whole handshake, and says all of it when ready.
  FUZZ_CHECK(run.out.size() <= kReadyOutput);
  if (run.client.status() == Status::ready) FUZZ_CHECK(run.out.size() == kReadyOutput);
  if (run.client.status() != Status::ready) FUZZ_CHECK(run.client.leftover().empty());
  const bool decided = run.client.status() == Status::denied || run.client.status() == Status::failed;
  FUZZ_CHECK(decided == !run.client.error().empty());
  // The client hash is only sent after a genuine server hash.
  if (run.client.error() == "forged server hash") FUZZ_CHECK(run.out.size() == 33);
}

}  // namespace

int fuzz_ext_or(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> input;
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  if (size >= 33 && (data[0] & 1) != 0) {
    pt::Nonce server_nonce;
    std::copy(bytes + 1, bytes + 33, server_nonce.begin());
    input = {std::byte{0x01}, std::byte{0x00}};
    const auto hash = pt::ext_or_server_hash(cookie(), client_nonce(), server_nonce);
    input.insert(input.end(), hash.begin(), hash.end());
    input.insert(input.end(), server_nonce.begin(), server_nonce.end());
    input.push_back(std::byte{0x01});
    input.insert(input.end(), bytes + 33, bytes + size);
  } else if (size > 0) {
    input.assign(bytes + 1, bytes + size);
  }

  Run whole;
  whole.client.receive(input, whole.out);
  check_consistent(whole);

  Run chunked;
  std::size_t position = 0;
  while (position < input.size()) {
    const std::size_t length = std::min<std::size_t>(1 + (std::to_integer<std::size_t>(input[position]) % 13),
                                                     input.size() - position);
    const auto before = chunked.client.status();
    const auto after = chunked.client.receive(std::span(input).subspan(position, length), chunked.out);
    if (before != Status::need_more) FUZZ_CHECK(after == before);
    position += length;
  }
  check_consistent(chunked);

  FUZZ_CHECK(whole.client.status() == chunked.client.status());
  FUZZ_CHECK(whole.out == chunked.out);
  FUZZ_CHECK(whole.client.error() == chunked.client.error());
  FUZZ_CHECK(std::ranges::equal(whole.client.leftover(), chunked.client.leftover()));

  (void)pt::parse_auth_cookie(std::span(bytes, size));
  return 0;
}

}  // namespace hoplink::fuzz
