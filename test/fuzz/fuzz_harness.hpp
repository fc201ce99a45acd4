// The bodies of the fuzz targets. Each takes one input, drives a parser with it, and checks
// invariants that must hold for every input; a broken invariant aborts, which libFuzzer reports as a
// crash and the corpus-replay test as a failure. Each returns 0, as LLVMFuzzerTestOneInput must.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hoplink::fuzz {

// SOCKS5 server: the input is what tor sends, fed whole and in input-derived chunks (results must agree).
int fuzz_socks5(const std::uint8_t* data, std::size_t size);
// Extended ORPort client: with data[0] odd, a valid authentication prefix built from data[1..33] as the
// server nonce is put before the rest, so the command stage is reached.
int fuzz_ext_or(const std::uint8_t* data, std::size_t size);
// PT environment: KEY=VALUE lines; with data[0] odd they override a valid client+server environment.
int fuzz_environment(const std::uint8_t* data, std::size_t size);
// SOCKS5 UDP ASSOCIATE client (TOR_PT_PROXY): data[1..] is what the proxy sends on the control connection
// (data[0] bit 0: with credentials), fed whole and chunked; the same bytes are also parsed as a relayed
// datagram, whose header must write back identically.
int fuzz_socks5_udp(const std::uint8_t* data, std::size_t size);
// The three argument dialects: parsing arbitrary text, and format/parse round trips.
int fuzz_args(const std::uint8_t* data, std::size_t size);
// Stdout lines: whatever the text, one call writes one line with no control characters.
int fuzz_messages(const std::uint8_t* data, std::size_t size);

// The datagram input paths. Each is compiled in only when its library is built (HOPLINK_FUZZ_SCTP,
// HOPLINK_FUZZ_DPDK, HOPLINK_FUZZ_DTLS are then defined for whoever links fuzz_harness).
#if HOPLINK_FUZZ_SCTP
// SCTP packets into the process's one Stack (created on first use, never destroyed), from one of two
// peers: data[0] bit 0 picks the peer (CRC32c on / off); bit 1 sets the listener's port and a valid CRC32c;
// bit 2 first opens an association with a well-formed INIT / COOKIE-ECHO and makes the packet one of its
// (ports, verification tag, CRC); bits 3-7 advance the clock before the timers run.
int fuzz_sctp_packet(const std::uint8_t* data, std::size_t size);
#endif
#if HOPLINK_FUZZ_DPDK
// Ethernet frames into the DPDK backend's header validation (parse_frame, ARP, ICMP echo). data[0] bit 0
// addresses the frame to us and fixes the checksums, bit 1 uses the broadcast MAC, bit 2 zeroes the UDP
// checksum.
int fuzz_dpdk_frame(const std::uint8_t* data, std::size_t size);
#endif
#if HOPLINK_FUZZ_DTLS
// Datagrams into DTLS: data[0] % 4 picks the open server session, the open client session, the Listener,
// or the Listener with the cookie of its HelloVerifyRequest spliced into the ClientHello (so that
// DtlsSession::accept runs on fuzzed hellos). Open sessions must stay open and working, or fail cleanly.
int fuzz_dtls_datagram(const std::uint8_t* data, std::size_t size);
#endif

}  // namespace hoplink::fuzz
