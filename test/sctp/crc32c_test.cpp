#include "sctp/crc32c.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "usrsctp_library.hpp"

namespace hoplink::sctp::test {
namespace {

std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> v(s.size());
  std::memcpy(v.data(), s.data(), s.size());
  return v;
}

TEST_CASE("crc32c known vectors (RFC 3720 B.4 and the check value)", "[sctp][crc32c]") {
  std::vector<std::byte> zeros(32, std::byte{0});
  std::vector<std::byte> ones(32, std::byte{0xff});
  std::vector<std::byte> up(32);
  std::vector<std::byte> down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<std::byte>(i);
    down[i] = static_cast<std::byte>(31 - i);
  }
  for (auto fn : {&crc32c, &crc32c_portable}) {
    CHECK(fn(bytes_of("123456789")) == 0xE3069283u);
    CHECK(fn(zeros) == 0x8A9136AAu);
    CHECK(fn(ones) == 0x62A8AB43u);
    CHECK(fn(up) == 0x46DD794Eu);
    CHECK(fn(down) == 0x113FDB5Cu);
    CHECK(fn({}) == 0u);
  }
}

TEST_CASE("hardware, portable and usrsctp's crc32c agree", "[sctp][crc32c]") {
  INFO("hardware crc32c available: " << crc32c_hardware_available());
  std::mt19937 rng(7);
  for (std::size_t length : {0, 1, 3, 7, 8, 9, 15, 16, 63, 64, 65, 1199, 1200, 1452, 9000}) {
    for (int offset = 0; offset < 8; ++offset) {  // unaligned starts
      std::vector<std::byte> buffer(length + offset);
      for (auto& b : buffer) b = static_cast<std::byte>(rng());
      const std::span<const std::byte> data(buffer.data() + offset, length);
      const std::uint32_t expected = detail::library_reference_crc32c(data.data(), data.size());
      CHECK(crc32c(data) == expected);
      CHECK(crc32c_portable(data) == expected);
    }
  }
}

TEST_CASE("sctp checksum field holds what usrsctp would store there", "[sctp][crc32c]") {
  std::mt19937 rng(11);
  std::vector<std::byte> packet(1200);
  for (auto& b : packet) b = static_cast<std::byte>(rng());
  sctp_fill_checksum(packet);
  CHECK(sctp_checksum_valid(packet));
  // usrsctp computes over the packet with a zero checksum field and stores the value in host order
  // (little-endian here), i.e. RFC 3720's wire order: 32 zero bytes -> aa 36 91 8a.
  std::vector<std::byte> zeroed = packet;
  std::memset(zeroed.data() + 8, 0, 4);
  const std::uint32_t reference = detail::library_reference_crc32c(zeroed.data(), zeroed.size());
  std::uint32_t stored;
  std::memcpy(&stored, packet.data() + 8, 4);
  CHECK(stored == reference);

  packet[100] ^= std::byte{1};
  CHECK_FALSE(sctp_checksum_valid(packet));
  CHECK_FALSE(sctp_checksum_valid(std::span(packet.data(), 11)));
}

}  // namespace
}  // namespace hoplink::sctp::test
