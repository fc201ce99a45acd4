// SCTP_CC_EXTERNAL's application side: BBR (cc::Bbr) and a pacer (cc::Pacer) per usrsctp path, driven by the
// hooks of hoplink's usrsctp patch 0003. Private to sctp/src.
//
// usrsctp's hooks carry no context pointer, so there is one ExternalCc per process, owned by the library
// wrapper (usrsctp_library.cpp) like the rest of usrsctp's global state. Every hook runs inside a usrsctp
// call on the Stack's thread and never calls back into usrsctp.
//
// Pacing: usrsctp sends while the bytes in flight are below the path's cwnd, so each hook sets
// cwnd = min(model cwnd, in flight + pacer allowance). A path whose model would send more than its pacer
// allows waits in a list with its release time; the Stack's pacing timer (next_release / release_due) then
// asks usrsctp to send again (usrsctp_cc_output) for the association bound to that path.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "cc/bbr.hpp"
#include "cc/pacer.hpp"

struct socket;

namespace hoplink::sctp::detail {

using CcClock = std::chrono::steady_clock;

class ExternalCc {
 public:
  struct Path;

  // now(): the Stack's clock (the one usrsctp reads too).
  ExternalCc(CcClock::time_point (*now)(void*), void* clock_context, std::uint32_t initial_cwnd_packets);
  ~ExternalCc();
  ExternalCc(const ExternalCc&) = delete;
  ExternalCc& operator=(const ExternalCc&) = delete;

  // Installs the hooks into usrsctp (and removes them in the destructor).
  void install();

  // Binds the path of the socket's association to the socket, so that pacing can restart its output;
  // unbind before the socket is closed. Both do nothing for other congestion controls.
  static void bind(struct socket* so);
  static void unbind(struct socket* so);
  // The BBR state of the socket's association, when it runs BBR.
  static std::optional<cc::BbrStats> stats(struct socket* so);

  // The earliest time a paced path may send again.
  std::optional<CcClock::time_point> next_release() const;
  // Lets every path whose time has come send (usrsctp_cc_output). Returns how many were released.
  std::size_t release_due(CcClock::time_point now);

 private:
  friend struct HookTable;
  CcClock::time_point now() const { return now_(clock_context_); }
  cc::Time model_time(CcClock::time_point t) const;
  void wait(Path& path, CcClock::time_point when);
  void stop_waiting(Path& path);
  std::uint32_t gate(Path& path, std::uint32_t flight);

  std::uint32_t initial_cwnd_packets;
  CcClock::time_point (*now_)(void*);
  void* clock_context_;
  CcClock::time_point epoch_;
  std::vector<Path*> waiting_;       // paths held back by their pacer (few: only those sending at full rate)
  std::vector<struct socket*> due_;  // release_due's scratch list, kept to avoid allocating per release
  bool installed_ = false;
};

}  // namespace hoplink::sctp::detail
