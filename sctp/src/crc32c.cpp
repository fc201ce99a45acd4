// CRC32c (Castagnoli, reflected polynomial 0x82F63B78). The SSE4.2 crc32 instruction when the CPU has it,
// a slicing-by-8 table otherwise.
#include "sctp/crc32c.hpp"

#include <array>
#include <bit>
#include <cstring>

#include "sctp/packet.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define HOPLINK_CRC32C_X86 1
#endif

namespace hoplink::sctp {
namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78u;  // reflected Castagnoli
constexpr std::size_t kChecksumOffset = 8;

using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? kPolynomial : 0u);
    t[0][i] = crc;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xffu];
  }
  return t;
}

constexpr Tables kTables = make_tables();

// Raw update: no initial or final inversion.
std::uint32_t update_portable(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  while (n >= 8) {
    std::uint32_t lo;
    std::uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    // The tables are indexed by bytes in memory order, which is little-endian here.
    if constexpr (std::endian::native == std::endian::big) {
      lo = __builtin_bswap32(lo);
      hi = __builtin_bswap32(hi);
    }
    lo ^= crc;
    crc = kTables[7][lo & 0xff] ^ kTables[6][(lo >> 8) & 0xff] ^ kTables[5][(lo >> 16) & 0xff] ^
          kTables[4][lo >> 24] ^ kTables[3][hi & 0xff] ^ kTables[2][(hi >> 8) & 0xff] ^
          kTables[1][(hi >> 16) & 0xff] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ kTables[0][(crc ^ *p++) & 0xffu];
  return crc;
}

#ifdef HOPLINK_CRC32C_X86
__attribute__((target("sse4.2"))) std::uint32_t update_hardware(std::uint32_t crc, const unsigned char* p,
                                                                std::size_t n) {
#if defined(__x86_64__)
  std::uint64_t c = crc;
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  crc = static_cast<std::uint32_t>(c);
#endif
  while (n-- > 0) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}

bool detect_hardware() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#endif

using UpdateFn = std::uint32_t (*)(std::uint32_t, const unsigned char*, std::size_t);

UpdateFn select_update() {
#ifdef HOPLINK_CRC32C_X86
  if (detect_hardware()) return &update_hardware;
#endif
  return &update_portable;
}

const UpdateFn kUpdate = select_update();

const unsigned char* bytes_of(std::span<const std::byte> s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The checksum of a packet whose checksum field is taken as zero, without copying the packet.
std::uint32_t packet_crc(std::span<const std::byte> packet) {
  static constexpr unsigned char kZero[4] = {0, 0, 0, 0};
  std::uint32_t crc = ~0u;
  crc = kUpdate(crc, bytes_of(packet), kChecksumOffset);
  crc = kUpdate(crc, kZero, sizeof kZero);
  crc = kUpdate(crc, bytes_of(packet) + kCommonHeaderBytes, packet.size() - kCommonHeaderBytes);
  return ~crc;
}

}  // namespace

std::uint32_t crc32c(std::span<const std::byte> bytes) {
  return ~kUpdate(~0u, bytes_of(bytes), bytes.size());
}

std::uint32_t crc32c_portable(std::span<const std::byte> bytes) {
  return ~update_portable(~0u, bytes_of(bytes), bytes.size());
}

bool crc32c_hardware_available() {
#ifdef HOPLINK_CRC32C_X86
  return detect_hardware();
#else
  return false;
#endif
}

// RFC 4960 appendix B (and RFC 3309): the reflected CRC goes on the wire least significant byte first, the
// same order iSCSI uses (RFC 3720 B.4: 32 zero bytes -> 0x8A9136AA, sent as aa 36 91 8a).
void sctp_fill_checksum(std::span<std::byte> packet) {
  if (packet.size() < kCommonHeaderBytes) return;
  const std::uint32_t crc = packet_crc(packet);
  for (std::size_t i = 0; i < 4; ++i) packet[kChecksumOffset + i] = static_cast<std::byte>(crc >> (8 * i));
}

bool sctp_checksum_valid(std::span<const std::byte> packet) {
  if (packet.size() < kCommonHeaderBytes) return false;
  std::uint32_t wire = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    wire |= static_cast<std::uint32_t>(std::to_integer<std::uint8_t>(packet[kChecksumOffset + i])) << (8 * i);
  }
  return wire == packet_crc(packet);
}

}  // namespace hoplink::sctp
