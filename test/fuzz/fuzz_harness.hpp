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

// The configuration hoplink reads at start-up. Each returns or throws OptionsError, nothing else.
#if HOPLINK_FUZZ_TRANSPORT
// A --config file: data[0] % 4 picks the mode word (none, client, server, managed), the rest is the file.
// Whatever parses is within the documented ranges.
int fuzz_config_file(const std::uint8_t* data, std::size_t size);
// Per-link options (TOR_PT_SERVER_TRANSPORT_OPTIONS): data[0] bit 0 picks tor's escaped text or raw
// key NUL value NUL pairs, bit 1 the dpdk backend (its frame size from bits 2-7). An accepted list sets
// exactly the keys it names.
int fuzz_transport_options(const std::uint8_t* data, std::size_t size);
// A Bridge line as tor reads it: its arguments reach the client transport unchanged through SOCKS5, and
// the line a bridge writes (bridge_line, the file) reads back as the same transport, address and arguments.
int fuzz_bridge_line(const std::uint8_t* data, std::size_t size);
// The whole datagram input of a serving transport (built by the registry, on a memory network and a
// ManualRuntime), one input a sequence of datagrams: a control byte (bits 0-1: one of four source
// addresses; bits 2-4: simulated time after it, 0 to 40 s; bit 5: sctp a valid CRC32c, dtls the cookie of
// the last HelloVerifyRequest spliced into a ClientHello; bit 6: the ports and tag of the source's last
// INIT-ACK; bit 7: a COOKIE-ECHO with its cookie first), a 16-bit big-endian length and the bytes. For
// dtls the fourth source is a real client session, open before the input starts and kept across inputs, and
// its datagrams are SCTP packets inside it. After each input the transport must keep no state but that
// session. The process may hold no other sctp::Stack (sctp_packet).
int fuzz_sctp_transport(const std::uint8_t* data, std::size_t size);
int fuzz_dtls_transport(const std::uint8_t* data, std::size_t size);
#endif

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
