// Names of the sctp enums, as they appear in logs, options and STATUS lines.
#include "sctp/association.hpp"
#include "sctp/stack.hpp"

namespace hoplink::sctp {

std::string_view to_string(CloseReason reason) {
  switch (reason) {
    case CloseReason::shutdown_complete:
      return "shutdown_complete";
    case CloseReason::peer_aborted:
      return "peer_aborted";
    case CloseReason::peer_unreachable:
      return "peer_unreachable";
    case CloseReason::connect_failed:
      return "connect_failed";
    case CloseReason::local_abort:
      return "local_abort";
    case CloseReason::protocol_violation:
      return "protocol_violation";
    case CloseReason::lower_layer_closed:
      return "lower_layer_closed";
  }
  return "unknown";
}

std::string_view to_string(CongestionControl cc) {
  switch (cc) {
    case CongestionControl::rfc2581:
      return "rfc2581";
    case CongestionControl::hstcp:
      return "hstcp";
    case CongestionControl::htcp:
      return "htcp";
    case CongestionControl::rtcc:
      return "rtcc";
    case CongestionControl::bbr:
      return "bbr";
  }
  return "unknown";
}

std::optional<CongestionControl> parse_congestion_control(std::string_view name) {
  for (auto cc : {CongestionControl::rfc2581, CongestionControl::hstcp, CongestionControl::htcp,
                  CongestionControl::rtcc, CongestionControl::bbr}) {
    if (name == to_string(cc)) return cc;
  }
  return std::nullopt;
}

}  // namespace hoplink::sctp
