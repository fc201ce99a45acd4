// ARP (RFC 826) for the DPDK backend: the packet format and a neighbour table with resolution retries, expiry
// and a bounded queue of packets waiting for an answer. No DPDK header and no clock here: time is passed in,
// packets are opaque pointers owned by the caller (mbufs in dpdk_port.cpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dpdk_ipv4_udp.hpp"

namespace hoplink::dio::detail {

inline constexpr std::size_t kArpPacket = 28;
inline constexpr std::size_t kArpFrame = kEthernetHeader + kArpPacket;

enum class ArpOperation : std::uint16_t { request = 1, reply = 2 };

struct ArpPacket {
  ArpOperation operation = ArpOperation::request;
  MacAddress sender_mac{};
  Ipv4Address sender_ip{};
  MacAddress target_mac{};
  Ipv4Address target_ip{};

  // Ethernet (hardware type 1, length 6) / IPv4 (0x0800, length 4) ARP only; nullopt for anything else.
  static std::optional<ArpPacket> parse(std::span<const std::byte> packet);
  // Writes a whole frame: Ethernet header to `ethernet_destination` from sender_mac, then the packet, then
  // zero padding up to the 60-byte Ethernet minimum. `frame` must hold kMinimumFrame bytes.
  void serialize_frame(std::span<std::byte> frame, const MacAddress& ethernet_destination) const;
};

using ArpClock = std::chrono::steady_clock;

struct ArpTableConfig {
  std::chrono::milliseconds retry_interval{1000};  // between requests for one address
  int max_requests = 3;                            // then the resolution fails and its packets are dropped
  // A resolved entry older than this is refreshed: still used, while requests go out; if none is answered
  // it is forgotten. Refreshing instead of expiring keeps a busy link from stalling once per TTL.
  std::chrono::milliseconds ttl{60000};
  std::size_t pending_limit = 64;  // packets waiting for resolutions, all addresses together
  std::size_t max_entries = 256;
};

// Not thread-safe. Callbacks are called synchronously and must not re-enter the table.
class ArpTable {
 public:
  explicit ArpTable(const ArpTableConfig& config);

  // The MAC for `ip` when resolved. When the entry is older than the TTL and no refresh runs, one starts:
  // `send_request` is set and the caller sends the first request now.
  std::optional<MacAddress> lookup(const Ipv4Address& ip, ArpClock::time_point now, bool& send_request);
  // Whether `ip` has an entry (resolved or not): RFC 826 updates such entries from any ARP packet.
  bool contains(const Ipv4Address& ip) const;

  enum class Parked : std::uint8_t {
    send_request,  // parked; no resolution was running: the caller sends a request now
    waiting,       // parked behind a resolution already running
    full,          // not parked: the pending queue (or the table) is full; the caller drops the packet
  };
  Parked park(const Ipv4Address& ip, void* packet, ArpClock::time_point now);

  // Records ip -> mac (an answer, or a request from a neighbour to us) and hands the packets parked for `ip`
  // to release(packet, mac), in the order they were parked.
  template <class Release>
  void learn(const Ipv4Address& ip, const MacAddress& mac, ArpClock::time_point now, Release&& release) {
    Entry* entry = find(ip);
    if (entry == nullptr) entry = insert(ip);
    if (entry == nullptr) return;
    entry->mac = mac;
    entry->resolved = true;
    entry->refreshing = false;
    entry->learned_at = now;
    entry->requests = 0;
    take_parked(ip, [&](void* packet) { release(packet, mac); });
  }

  // Drives retries and failures: send_request(ip) for every resolution or refresh whose retry is due at
  // `now`; drop(packet) for every packet of a resolution that ran out of requests. An entry whose resolution
  // or refresh ran out is forgotten. Returns the failed resolutions and refreshes.
  template <class SendRequest, class Drop>
  std::size_t poll(ArpClock::time_point now, SendRequest&& send_request, Drop&& drop) {
    std::size_t failed = 0;
    for (std::size_t i = 0; i < entries_.size();) {
      Entry& entry = entries_[i];
      if (!running(entry) || entry.next_request > now) {
        ++i;
        continue;
      }
      if (entry.requests >= config_.max_requests) {
        ++failed;
        take_parked(entry.ip, drop);
        entries_[i] = entries_.back();
        entries_.pop_back();
        continue;
      }
      ++entry.requests;
      entry.next_request = now + config_.retry_interval;
      send_request(entry.ip);
      ++i;
    }
    return failed;
  }

  // Hands every parked packet to drop() and forgets everything (shutdown).
  template <class Drop>
  void clear(Drop&& drop) {
    for (const Parked_& parked : parked_) drop(parked.packet);
    parked_.clear();
    entries_.clear();
  }

  // The earliest time poll() has work, if any resolution is running.
  std::optional<ArpClock::time_point> next_deadline() const;
  std::size_t parked_count() const { return parked_.size(); }
  std::size_t entry_count() const { return entries_.size(); }

 private:
  struct Entry {
    Ipv4Address ip{};
    MacAddress mac{};
    bool resolved = false;
    bool refreshing = false;  // resolved, older than the TTL, requests out
    ArpClock::time_point learned_at{};
    ArpClock::time_point next_request{};
    int requests = 0;  // sent for the running resolution or refresh
  };
  static bool running(const Entry& entry) { return !entry.resolved || entry.refreshing; }
  struct Parked_ {
    Ipv4Address ip{};
    void* packet = nullptr;
  };

  Entry* find(const Ipv4Address& ip);
  // A new unresolved entry, evicting the oldest resolved one when the table is full; nullptr when every
  // entry is a running resolution.
  Entry* insert(const Ipv4Address& ip);

  template <class Take>
  void take_parked(const Ipv4Address& ip, Take&& take) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < parked_.size(); ++i) {
      if (parked_[i].ip == ip) {
        take(parked_[i].packet);
      } else {
        parked_[kept++] = parked_[i];
      }
    }
    parked_.resize(kept);
  }

  ArpTableConfig config_;
  std::vector<Entry> entries_;   // capacity reserved: no allocation after construction
  std::vector<Parked_> parked_;  // idem
};

}  // namespace hoplink::dio::detail
