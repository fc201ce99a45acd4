#include <algorithm>
#include <array>
#include <vector>

#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"
#include "pt/socks5_udp.hpp"

namespace hoplink::fuzz {
namespace {

struct Run {
  explicit Run(bool credentials)
      : client(credentials ? "user" : "", credentials ? "pass" : "", PeerAddress::v4({0, 0, 0, 0}, 0)) {
    client.start(out);
  }
  pt::Socks5UdpAssociate client;
  std::vector<std::byte> out;
};

}  // namespace

int fuzz_socks5_udp(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  using Status = pt::Socks5UdpAssociate::Status;

  // The proxy's side of the control connection, whole and in input-derived chunks: same outcome.
  const bool credentials = (data[0] & 1) != 0;
  Run whole(credentials);
  whole.client.receive(input, whole.out);
  Run chunked(credentials);
  for (std::size_t position = 0; position < input.size();) {
    const std::size_t length =
        std::min<std::size_t>(1 + (std::to_integer<unsigned>(input[position]) & 7), input.size() - position);
    const auto before = chunked.client.status();
    const auto after = chunked.client.receive(input.subspan(position, length), chunked.out);
    if (before == Status::failed) FUZZ_CHECK(after == Status::failed);
    position += length;
  }
  FUZZ_CHECK(whole.client.status() == chunked.client.status());
  FUZZ_CHECK(whole.out == chunked.out);
  FUZZ_CHECK((whole.client.status() == Status::failed) == !whole.client.error().empty());
  if (whole.client.status() == Status::done) {
    FUZZ_CHECK(whole.client.relay() == chunked.client.relay());
    FUZZ_CHECK(whole.client.relay().port() != 0);
  }

  // The same bytes as a datagram from the relay: a parsed header must write back to the same bytes.
  if (const auto datagram = pt::parse_socks5_udp_datagram(input)) {
    std::array<std::byte, 32> header{};
    const auto written = pt::write_socks5_udp_header(datagram->source, header);
    FUZZ_CHECK(written > 0 && written + datagram->payload.size() == input.size());
    FUZZ_CHECK(std::equal(header.begin() + 3, header.begin() + static_cast<std::ptrdiff_t>(written),
                          input.begin() + 3));
  }
  return 0;
}

}  // namespace hoplink::fuzz
