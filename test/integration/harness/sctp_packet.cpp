#include "sctp_packet.hpp"

#include <algorithm>
#include <array>

namespace hoplink::itest {
namespace {

std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    t[i] = c;
  }
  return t;
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v));
}
std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
std::uint32_t get32(const std::uint8_t* p) {
  return std::uint32_t{get16(p)} << 16 | get16(p + 2);
}

}  // namespace

std::uint32_t crc32c(std::span<const std::uint8_t> bytes) {
  static const auto table = make_table();
  std::uint32_t c = 0xffffffffu;
  for (auto b : bytes) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return ~c;
}

std::vector<std::uint8_t> sctp_packet(std::uint16_t src_port, std::uint16_t dst_port, std::uint32_t vtag,
                                      const std::vector<SctpChunk>& chunks, bool corrupt_crc) {
  std::vector<std::uint8_t> out;
  put16(out, src_port);
  put16(out, dst_port);
  put32(out, vtag);
  put32(out, 0);
  for (const auto& c : chunks) {
    out.push_back(c.type);
    out.push_back(c.flags);
    put16(out, static_cast<std::uint16_t>(4 + c.value.size()));
    out.insert(out.end(), c.value.begin(), c.value.end());
    while (out.size() % 4) out.push_back(0);
  }
  std::uint32_t crc = crc32c(out) ^ (corrupt_crc ? 0x5a5a5a5au : 0);
  // The checksum goes on the wire least significant byte first (RFC 9260 appendix A).
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  return out;
}

SctpChunk sctp_init_chunk(std::uint32_t initiate_tag, std::size_t packet_size) {
  std::vector<std::uint8_t> v;
  put32(v, initiate_tag);
  put32(v, 1 << 20);                        // a_rwnd
  put16(v, 16);                             // outbound streams
  put16(v, 16);                             // inbound streams
  put32(v, 12345);                          // initial TSN
  constexpr std::size_t kHeaders = 12 + 4;  // common header, chunk header
  if (packet_size > kHeaders + v.size()) {
    const std::size_t parameter = std::max<std::size_t>(4, (packet_size - kHeaders - v.size() + 3) / 4 * 4);
    put16(v, 0x8005);  // RFC 4820 Padding Parameter
    put16(v, static_cast<std::uint16_t>(parameter));
    v.resize(v.size() + parameter - 4, 0);
  }
  return {kSctpInit, 0, v};
}

std::optional<SctpPacket> parse_sctp_packet(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 12) return std::nullopt;
  SctpPacket p;
  p.src_port = get16(bytes.data());
  p.dst_port = get16(bytes.data() + 2);
  p.vtag = get32(bytes.data() + 4);
  std::vector<std::uint8_t> zeroed(bytes.begin(), bytes.end());
  std::uint32_t wire = 0;
  for (int i = 0; i < 4; ++i) {
    wire |= std::uint32_t{zeroed[8 + i]} << (8 * i);
    zeroed[8 + i] = 0;
  }
  p.crc_ok = crc32c(zeroed) == wire;
  std::size_t pos = 12;
  while (pos + 4 <= bytes.size()) {
    std::uint16_t len = get16(bytes.data() + pos + 2);
    if (len < 4 || pos + len > bytes.size()) return std::nullopt;
    p.chunks.push_back({bytes[pos], bytes[pos + 1], {bytes.begin() + pos + 4, bytes.begin() + pos + len}});
    pos += (len + 3u) & ~3u;
  }
  return p;
}

}  // namespace hoplink::itest
