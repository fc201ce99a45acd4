#include "links/path_status.hpp"

#include <cstdio>

namespace hoplink::transport {
namespace {

// Bytes per second as Mbit/s with one decimal: what an operator compares with a link's rate.
std::string mbit(std::uint64_t bytes_per_s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", static_cast<double>(bytes_per_s) * 8.0 / 1e6);
  return text;
}

std::string ms(std::uint64_t us) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", static_cast<double>(us) / 1000.0);
  return text;
}

void append_counters(StatusFields& fields, const PathCounters& c) {
  fields.emplace_back("RETRANSMITTED", std::to_string(c.retransmitted_chunks));
  fields.emplace_back("T3_TIMEOUTS", std::to_string(c.t3_timeouts));
  fields.emplace_back("FAST_RETRANSMITS", std::to_string(c.fast_retransmits));
}

}  // namespace

void append_path_fields(StatusFields& fields, const sctp::AssociationStats& path) {
  fields.emplace_back("SRTT_MS", std::to_string(path.srtt_ms));
  if (!path.cc_state.empty()) {
    fields.emplace_back("MIN_RTT_MS", ms(path.min_rtt_us));
    fields.emplace_back("PACING_MBIT", mbit(path.pacing_rate_bytes_per_s));
    fields.emplace_back("BW_MBIT", mbit(path.bandwidth_bytes_per_s));
    fields.emplace_back("CC_STATE", std::string(path.cc_state));
    fields.emplace_back("INFLIGHT_HI", std::to_string(path.inflight_hi_bytes));
  }
  fields.emplace_back("CWND", std::to_string(path.cwnd_bytes));
  PathCounters counters;
  counters.add(path);
  append_counters(fields, counters);
}

void append_path_totals(StatusFields& fields, const LinkRegistry& registry) {
  PathCounters counters = registry.totals().closed_paths;
  std::uint64_t pacing = 0;
  std::uint64_t bandwidth = 0;
  registry.for_each_path([&](const sctp::AssociationStats& path) {
    counters.add(path);
    pacing += path.pacing_rate_bytes_per_s;
    bandwidth += path.bandwidth_bytes_per_s;
  });
  append_counters(fields, counters);
  fields.emplace_back("PACING_MBIT", mbit(pacing));
  fields.emplace_back("BW_MBIT", mbit(bandwidth));
}

}  // namespace hoplink::transport
