#include "dpdk_arp.hpp"

#include <algorithm>
#include <cstring>

namespace hoplink::dio::detail {
namespace {

constexpr std::uint16_t kHardwareEthernet = 1;

}  // namespace

//  hardware type (16) | protocol type (16) | hlen (8) | plen (8) | operation (16)
//  sender MAC (48) | sender IPv4 (32) | target MAC (48) | target IPv4 (32)
std::optional<ArpPacket> ArpPacket::parse(std::span<const std::byte> packet) {
  if (packet.size() < kArpPacket) return std::nullopt;
  if (load16(packet, 0) != kHardwareEthernet || load16(packet, 2) != kEtherTypeIpv4 ||
      std::to_integer<unsigned>(packet[4]) != 6 || std::to_integer<unsigned>(packet[5]) != 4) {
    return std::nullopt;
  }
  const std::uint16_t operation = load16(packet, 6);
  if (operation != static_cast<std::uint16_t>(ArpOperation::request) &&
      operation != static_cast<std::uint16_t>(ArpOperation::reply)) {
    return std::nullopt;
  }
  ArpPacket parsed;
  parsed.operation = static_cast<ArpOperation>(operation);
  std::memcpy(parsed.sender_mac.data(), packet.data() + 8, 6);
  std::memcpy(parsed.sender_ip.data(), packet.data() + 14, 4);
  std::memcpy(parsed.target_mac.data(), packet.data() + 18, 6);
  std::memcpy(parsed.target_ip.data(), packet.data() + 24, 4);
  return parsed;
}

void ArpPacket::serialize_frame(std::span<std::byte> frame, const MacAddress& ethernet_destination) const {
  std::memset(frame.data(), 0, kMinimumFrame);
  std::memcpy(frame.data(), ethernet_destination.data(), 6);
  std::memcpy(frame.data() + 6, sender_mac.data(), 6);
  store16(frame, 12, kEtherTypeArp);
  const auto arp = frame.subspan(kEthernetHeader, kArpPacket);
  store16(arp, 0, kHardwareEthernet);
  store16(arp, 2, kEtherTypeIpv4);
  arp[4] = std::byte{6};
  arp[5] = std::byte{4};
  store16(arp, 6, static_cast<std::uint16_t>(operation));
  std::memcpy(arp.data() + 8, sender_mac.data(), 6);
  std::memcpy(arp.data() + 14, sender_ip.data(), 4);
  std::memcpy(arp.data() + 18, target_mac.data(), 6);
  std::memcpy(arp.data() + 24, target_ip.data(), 4);
}

ArpTable::ArpTable(const ArpTableConfig& config) : config_(config) {
  config_.max_entries = std::max<std::size_t>(config_.max_entries, 1);
  entries_.reserve(config_.max_entries);
  parked_.reserve(config_.pending_limit);
}

std::optional<MacAddress> ArpTable::lookup(const Ipv4Address& ip, ArpClock::time_point now,
                                           bool& send_request) {
  send_request = false;
  Entry* entry = find(ip);
  if (entry == nullptr || !entry->resolved) return std::nullopt;
  if (!entry->refreshing && now - entry->learned_at >= config_.ttl) {
    entry->refreshing = true;
    entry->requests = 1;
    entry->next_request = now + config_.retry_interval;
    send_request = true;
  }
  return entry->mac;
}

bool ArpTable::contains(const Ipv4Address& ip) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& entry) { return entry.ip == ip; });
}

ArpTable::Parked ArpTable::park(const Ipv4Address& ip, void* packet, ArpClock::time_point now) {
  if (parked_.size() >= config_.pending_limit) return Parked::full;
  Entry* entry = find(ip);
  bool request = false;
  if (entry == nullptr) {
    entry = insert(ip);
    if (entry == nullptr) return Parked::full;
    request = true;
  } else if (entry->resolved) {
    // lookup() would have answered: a caller that parks anyway gets a fresh resolution.
    entry->resolved = false;
    entry->refreshing = false;
    request = true;
  }
  if (request) {
    entry->requests = 1;
    entry->next_request = now + config_.retry_interval;
  }
  parked_.push_back({ip, packet});
  return request ? Parked::send_request : Parked::waiting;
}

std::optional<ArpClock::time_point> ArpTable::next_deadline() const {
  std::optional<ArpClock::time_point> earliest;
  for (const Entry& entry : entries_) {
    if (!running(entry)) continue;
    if (!earliest || entry.next_request < *earliest) earliest = entry.next_request;
  }
  return earliest;
}

ArpTable::Entry* ArpTable::find(const Ipv4Address& ip) {
  for (Entry& entry : entries_) {
    if (entry.ip == ip) return &entry;
  }
  return nullptr;
}

ArpTable::Entry* ArpTable::insert(const Ipv4Address& ip) {
  if (entries_.size() >= config_.max_entries) {
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (!running(*it) && (oldest == entries_.end() || it->learned_at < oldest->learned_at)) oldest = it;
    }
    if (oldest == entries_.end()) return nullptr;
    *oldest = entries_.back();
    entries_.pop_back();
  }
  Entry& entry = entries_.emplace_back();
  entry.ip = ip;
  return &entry;
}

}  // namespace hoplink::dio::detail
