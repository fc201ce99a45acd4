// Every live link and handshake session, by id: for STATUS counters and for closing them all at exit.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

namespace hoplink::transport {

// Something that holds a TCP socket and/or an association and can drop both at once.
class Closable {
 public:
  virtual ~Closable() = default;
  // Closes the socket and aborts the association now; must leave nothing referring to the SCTP stack.
  virtual void close_now() = 0;
};

struct LinkTotals {
  std::uint64_t opened = 0;
  std::uint64_t closed = 0;
  std::uint64_t refused = 0;  // over --max-links, or a failed handshake
  std::uint64_t bytes_to_peer = 0;
  std::uint64_t bytes_from_peer = 0;
};

class LinkRegistry {
 public:
  explicit LinkRegistry(std::size_t max_entries) : max_entries_(max_entries) {}

  std::uint64_t next_id() { return ++last_id_; }
  bool full() const { return entries_.size() >= max_entries_; }
  void add(std::uint64_t id, std::shared_ptr<Closable> entry) { entries_[id] = std::move(entry); }
  void remove(std::uint64_t id) { entries_.erase(id); }
  std::size_t size() const { return entries_.size(); }

  // Closes everything; entries removing themselves meanwhile is fine.
  void close_all() {
    auto entries = std::move(entries_);
    entries_.clear();
    for (auto& [id, entry] : entries) entry->close_now();
  }

  LinkTotals& totals() { return totals_; }
  const LinkTotals& totals() const { return totals_; }

 private:
  std::size_t max_entries_;
  std::uint64_t last_id_ = 0;
  std::unordered_map<std::uint64_t, std::shared_ptr<Closable>> entries_;
  LinkTotals totals_;
};

}  // namespace hoplink::transport
