// The guarded process-wide usrsctp instance and the C trampolines it calls.
#include "usrsctp_library.hpp"

#include <sys/time.h>
#include <usrsctp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "external_cc.hpp"

namespace hoplink::sctp::detail {
namespace {

std::atomic<bool> g_claimed{false};
LibraryCallbacks g_callbacks;
std::function<std::chrono::steady_clock::time_point()> g_clock;
std::unique_ptr<ExternalCc> g_external_cc;

std::chrono::steady_clock::time_point clock_now(void* /*context*/) {
  return g_clock ? g_clock() : std::chrono::steady_clock::now();
}

// usrsctp's time, from the Stack's monotonic clock. An offset keeps it far from 0, which some of usrsctp's
// code reads as "not set".
void usrsctp_clock(struct timeval* tv) {
  constexpr std::int64_t kOffsetSeconds = 1'000'000;
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(clock_now(nullptr).time_since_epoch());
  const std::int64_t total = us.count() + kOffsetSeconds * 1'000'000;
  tv->tv_sec = static_cast<time_t>(total / 1'000'000);
  tv->tv_usec = static_cast<suseconds_t>(total % 1'000'000);
}

int conn_output(void* addr, void* buffer, std::size_t length, std::uint8_t /*tos*/, std::uint8_t /*set_df*/) {
  const auto token = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(addr));
  if (g_callbacks.output != nullptr) {
    g_callbacks.output(g_callbacks.context, token, static_cast<std::byte*>(buffer), length);
  }
  return 0;
}

void socket_upcall(struct socket* /*so*/, void* arg, int /*waitflag*/) {
  if (g_callbacks.upcall != nullptr) {
    g_callbacks.upcall(g_callbacks.context,
                       static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(arg)));
  }
}

std::uint32_t cc_module(CongestionControl cc) {
  switch (cc) {
    case CongestionControl::rfc2581:
      return 0;  // SCTP_CC_RFC2581
    case CongestionControl::hstcp:
      return 1;  // SCTP_CC_HSTCP
    case CongestionControl::htcp:
      return 2;  // SCTP_CC_HTCP
    case CongestionControl::rtcc:
      return 3;  // SCTP_CC_RTCC
    case CongestionControl::bbr:
      return SCTP_CC_EXTERNAL;  // hoplink's patch 0003: cc::Bbr through ExternalCc's hooks
  }
  return 0;
}

std::uint32_t millis(std::chrono::milliseconds ms) {
  return static_cast<std::uint32_t>(ms.count());
}

bool apply_sysctls(const StackConfig& c, std::string& error) {
  struct Setting {
    const char* name;
    int (*set)(std::uint32_t);
    std::uint32_t value;
  };
  // Order matters: ASCONF needs AUTH, so ASCONF goes off first.
  const Setting settings[] = {
      // What WebRTC turns off, and what a single-homed byte stream never uses.
      {"asconf_enable", usrsctp_sysctl_set_sctp_asconf_enable, 0},
      {"auto_asconf", usrsctp_sysctl_set_sctp_auto_asconf, 0},
      {"auth_enable", usrsctp_sysctl_set_sctp_auth_enable, 0},
      {"ecn_enable", usrsctp_sysctl_set_sctp_ecn_enable, 0},
      {"pr_enable", usrsctp_sysctl_set_sctp_pr_enable, 0},
      {"reconfig_enable", usrsctp_sysctl_set_sctp_reconfig_enable, 0},
      {"nrsack_enable", usrsctp_sysctl_set_sctp_nrsack_enable, 0},
      {"pktdrop_enable", usrsctp_sysctl_set_sctp_pktdrop_enable, 0},
      // Answer INITs to closed ports with ABORT, so a client fails fast instead of retrying INIT.
      {"blackhole", usrsctp_sysctl_set_sctp_blackhole, 0},
      {"rto_min_default", usrsctp_sysctl_set_sctp_rto_min_default, millis(c.rto_min)},
      {"rto_max_default", usrsctp_sysctl_set_sctp_rto_max_default, millis(c.rto_max)},
      {"rto_initial_default", usrsctp_sysctl_set_sctp_rto_initial_default, millis(c.rto_initial)},
      {"init_rto_max_default", usrsctp_sysctl_set_sctp_init_rto_max_default, millis(c.rto_max)},
      {"delayed_sack_time_default", usrsctp_sysctl_set_sctp_delayed_sack_time_default,
       millis(c.delayed_sack)},
      {"sack_freq_default", usrsctp_sysctl_set_sctp_sack_freq_default, c.sack_frequency},
      {"initial_cwnd", usrsctp_sysctl_set_sctp_initial_cwnd, c.initial_cwnd_mtus},
      {"max_burst_default", usrsctp_sysctl_set_sctp_max_burst_default, c.max_burst},
      {"fr_max_burst_default", usrsctp_sysctl_set_sctp_fr_max_burst_default, c.max_burst},
      {"default_cc_module", usrsctp_sysctl_set_sctp_default_cc_module, cc_module(c.congestion_control)},
      // 512 chunks is less than one 1 MiB send buffer of 1200-byte packets.
      {"max_chunks_on_queue", usrsctp_sysctl_set_sctp_max_chunks_on_queue, 1u << 16},
      // diag_info_code stays 0: with a code set, usrsctp 0.9.5 allocates a diagnostic cause while processing
      // some invalid input packets and never frees it (LeakSanitizer, garbage-packet test): a remote leak.
      // usrsctp aborts, without a cause, an association whose one chunk has been retransmitted 30 times.
      // After a burst of ~100 lost packets or an overflowing receiver that limit was reached within a second
      // and killed healthy links; dead peers are found by the association error threshold and the Stack's
      // watchdog instead.
      {"max_retran_chunk", usrsctp_sysctl_set_sctp_max_retran_chunk, 65535},
      // One stream each way is all a byte stream needs; fewer streams, less memory per association.
      {"nr_outgoing_streams_default", usrsctp_sysctl_set_sctp_nr_outgoing_streams_default, 1},
      {"nr_incoming_streams_default", usrsctp_sysctl_set_sctp_nr_incoming_streams_default, 1},
  };
  for (const auto& s : settings) {
    if (s.set(s.value) != 0) {
      error = std::string("usrsctp rejected sysctl ") + s.name + "=" + std::to_string(s.value);
      return false;
    }
  }
  return true;
}

}  // namespace

bool library_start(const StackConfig& config, const LibraryCallbacks& callbacks, std::string& error) {
  bool expected = false;
  if (!g_claimed.compare_exchange_strong(expected, true)) {
    error = "usrsctp is process-global and another Stack already uses it";
    return false;
  }
  g_callbacks = callbacks;
  g_clock = config.clock;
  usrsctp_set_clock(&usrsctp_clock);
  if (config.congestion_control == CongestionControl::bbr) {
    g_external_cc = std::make_unique<ExternalCc>(&clock_now, nullptr, config.initial_cwnd_mtus);
    g_external_cc->install();
  }
  usrsctp_init_nothreads(0, &conn_output, nullptr);
  // We compute and check CRC32c per peer (hardware crc32 instead of usrsctp's tables; none inside DTLS).
  usrsctp_enable_crc32c_offload();
  if (!apply_sysctls(config, error)) {
    library_stop();
    return false;
  }
  return true;
}

bool library_stop() {
  // usrsctp_finish refuses while any socket or association is still alive; associations that were closed
  // abortively are gone at once, the rest only after their timers run. Bounded: 60 s of usrsctp time.
  // Endpoints can also wait for usrsctp's iterator thread (started even by usrsctp_init_nothreads, to walk
  // the endpoints after every address (de)registration), which holds a reference on one until it has
  // run: each retry leaves it a millisecond of real time, or a loaded machine may never schedule it.
  constexpr int kAttempts = 600;
  for (int i = 0; i < kAttempts; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (usrsctp_finish() == 0) {
      g_callbacks = {};
      g_external_cc.reset();
      usrsctp_set_clock(nullptr);
      g_clock = nullptr;
      g_claimed.store(false);
      return true;
    }
    usrsctp_handle_timers(100);
  }
  // usrsctp still holds associations (and their BBR state): the hooks stay installed for them.
  g_callbacks = {};
  return false;
}

ExternalCc* library_external_cc() {
  return g_external_cc.get();
}

void (*library_upcall())(struct socket*, void*, int) {
  return &socket_upcall;
}

std::uint32_t library_reference_crc32c(const void* bytes, std::size_t length) {
  return usrsctp_crc32c(const_cast<void*>(bytes), length);
}

}  // namespace hoplink::sctp::detail

namespace hoplink::sctp::detail {
void library_set_crc32c_offload(bool offload) {
  if (offload) {
    usrsctp_enable_crc32c_offload();
  } else {
    usrsctp_disable_crc32c_offload();
  }
}
}  // namespace hoplink::sctp::detail
