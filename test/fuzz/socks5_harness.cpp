#include <algorithm>
#include <vector>

#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"
#include "pt/socks5_server.hpp"

namespace hoplink::fuzz {
namespace {

struct Run {
  pt::Socks5Server server;
  std::vector<std::byte> out;
};

void check_consistent(const pt::Socks5Server& server, const std::vector<std::byte>& out) {
  using Status = pt::Socks5Server::Status;
  // Method choice + auth status + one error reply at most.
  FUZZ_CHECK(out.size() <= 2 + 2 + 10);
  if (server.status() == Status::request_ready) {
    const auto family = server.request().target.family();
    FUZZ_CHECK(family == PeerAddress::Family::v4 || family == PeerAddress::Family::v6);
    const auto text = pt::format_socks_args(server.request().args);
    const auto again = pt::parse_socks_args(text);
    FUZZ_CHECK(again && *again == server.request().args);
  } else {
    FUZZ_CHECK(server.leftover().empty());
  }
  FUZZ_CHECK((server.status() == Status::failed) == !server.error().empty());
}

}  // namespace

int fuzz_socks5(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);

  Run whole;
  whole.server.receive(input, whole.out);
  check_consistent(whole.server, whole.out);

  // The same bytes in chunks of 1 to 8 bytes, sizes taken from the input itself.
  Run chunked;
  std::size_t position = 0;
  while (position < size) {
    const std::size_t length = std::min<std::size_t>(1 + (data[position] & 7), size - position);
    const auto before = chunked.server.status();
    const auto after = chunked.server.receive(input.subspan(position, length), chunked.out);
    // Once decided, a server never changes its mind.
    if (before != pt::Socks5Server::Status::need_more) FUZZ_CHECK(after == before);
    position += length;
  }
  check_consistent(chunked.server, chunked.out);

  FUZZ_CHECK(whole.server.status() == chunked.server.status());
  FUZZ_CHECK(whole.out == chunked.out);
  FUZZ_CHECK(whole.server.error() == chunked.server.error());
  FUZZ_CHECK(std::ranges::equal(whole.server.leftover(), chunked.server.leftover()));
  if (whole.server.status() == pt::Socks5Server::Status::request_ready) {
    FUZZ_CHECK(whole.server.request().target == chunked.server.request().target);
    FUZZ_CHECK(whole.server.request().args == chunked.server.request().args);
  }
  return 0;
}

}  // namespace hoplink::fuzz
