// STATUS fields of SCTP paths: one link's when it closes, and the totals over every link in the periodic
// STATUS line. Names and units are documented in README ("STATUS fields").
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "links/link_registry.hpp"
#include "runtime/status_fields.hpp"
#include "sctp/association.hpp"

namespace hoplink::transport {

// SRTT_MS, MIN_RTT_MS, PACING_MBIT, BW_MBIT, CC_STATE, INFLIGHT_HI, CWND, RETRANSMITTED, T3_TIMEOUTS,
// FAST_RETRANSMITS.
void append_path_fields(StatusFields& fields, const sctp::AssociationStats& path);

// RETRANSMITTED, T3_TIMEOUTS and FAST_RETRANSMITS over closed and live links; PACING_MBIT and BW_MBIT summed
// over the live links.
void append_path_totals(StatusFields& fields, const LinkRegistry& registry);

}  // namespace hoplink::transport
