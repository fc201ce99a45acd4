// The one process-wide usrsctp instance: guarded start (usrsctp_init_nothreads + sysctls), stop
// (usrsctp_finish), and the C callbacks it calls back into. Private to sctp/src.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "sctp/stack.hpp"

namespace hoplink::sctp::detail {

// Both run synchronously inside usrsctp calls; they may only record what happened.
struct LibraryCallbacks {
  void* context = nullptr;
  // A packet to send to the peer registered as `token`. The buffer is writable (the checksum goes there).
  void (*output)(void* context, std::uint32_t token, std::byte* packet, std::size_t length) = nullptr;
  // Something happened on the socket whose upcall argument is `slot`.
  void (*upcall)(void* context, std::uint32_t slot) = nullptr;
};

// Initialises usrsctp and applies the sysctls. Fails when a Stack already owns it or a sysctl is rejected.
bool library_start(const StackConfig& config, const LibraryCallbacks& callbacks, std::string& error);
// usrsctp_finish, retried (advancing usrsctp's timers) until it succeeds or a bound is reached. Returns
// false when usrsctp kept refusing: the library then stays claimed and no new Stack can be created.
bool library_stop();

class ExternalCc;
// The BBR hooks and pacer, while the Stack runs congestion control bbr; null otherwise.
ExternalCc* library_external_cc();

// The upcall to install on sockets; its argument is the slot number.
void (*library_upcall())(struct socket*, void*, int);

// Usrsctp's own table CRC32c of the bytes, final value as it would store it (tests compare against it).
std::uint32_t library_reference_crc32c(const void* bytes, std::size_t length);

}  // namespace hoplink::sctp::detail

namespace hoplink::sctp::detail {
// For tests: with offload off usrsctp fills and checks the checksum itself (every peer).
void library_set_crc32c_offload(bool offload);
}  // namespace hoplink::sctp::detail
