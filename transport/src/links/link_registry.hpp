// Every live link and handshake session, by id: for STATUS counters and for closing them all at exit. The
// registry owns them; one that leaves it (closed, or replaced under its id by the Link it became) is
// destroyed from the loop afterwards, since it is usually the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/runtime.hpp"
#include "sctp/association.hpp"

namespace hoplink::transport {

// Something that holds a TCP socket and/or an association and can drop both at once.
class Closable {
 public:
  virtual ~Closable() = default;
  // Closes the socket and aborts the association now; must leave nothing referring to the SCTP stack.
  virtual void close_now() = 0;
  // The SCTP path of a link that has one (for the periodic STATUS totals).
  virtual std::optional<sctp::AssociationStats> path_stats() const { return std::nullopt; }
};

// Retransmission counters of SCTP paths, summed.
struct PathCounters {
  std::uint64_t t3_timeouts = 0;
  std::uint64_t fast_retransmits = 0;
  std::uint64_t retransmitted_chunks = 0;
  void add(const sctp::AssociationStats& s) {
    t3_timeouts += s.t3_timeouts;
    fast_retransmits += s.fast_retransmits;
    retransmitted_chunks += s.retransmitted_chunks;
  }
};

struct LinkTotals {
  std::uint64_t opened = 0;
  std::uint64_t closed = 0;
  std::uint64_t refused = 0;  // over --max-links, or a failed handshake
  std::uint64_t bytes_to_peer = 0;
  std::uint64_t bytes_from_peer = 0;
  PathCounters closed_paths;  // of the links closed so far
};

class LinkRegistry {
 public:
  LinkRegistry(Runtime& runtime, std::size_t max_entries)
      : max_entries_(max_entries), reap_(runtime, [this] { leaving_.clear(); }) {}

  std::uint64_t next_id() { return ++last_id_; }
  bool full() const { return entries_.size() >= max_entries_; }
  // Adds `entry` under `id`, or replaces what was there. Returns the entry.
  template <class Entry>
  Entry& add(std::uint64_t id, std::unique_ptr<Entry> entry) {
    Entry& added = *entry;
    auto& slot = entries_[id];
    if (slot) leave(std::move(slot));
    slot = std::move(entry);
    return added;
  }
  void remove(std::uint64_t id) {
    auto found = entries_.find(id);
    if (found == entries_.end()) return;
    leave(std::move(found->second));
    entries_.erase(found);
  }
  std::size_t size() const { return entries_.size(); }

  // Closes everything; entries removing themselves meanwhile is fine.
  void close_all() {
    auto entries = std::move(entries_);
    entries_.clear();
    for (auto& [id, entry] : entries) entry->close_now();
  }

  // Calls f(stats) for every live entry with an SCTP path.
  template <class F>
  void for_each_path(F&& f) const {
    for (const auto& [id, entry] : entries_) {
      if (const auto stats = entry->path_stats()) f(*stats);
    }
  }

  LinkTotals& totals() { return totals_; }
  const LinkTotals& totals() const { return totals_; }

 private:
  std::size_t max_entries_;
  std::uint64_t last_id_ = 0;
  void leave(std::unique_ptr<Closable> entry) {
    leaving_.push_back(std::move(entry));
    reap_.schedule();
  }

  std::unordered_map<std::uint64_t, std::unique_ptr<Closable>> entries_;
  std::vector<std::unique_ptr<Closable>> leaving_;
  Task reap_;
  LinkTotals totals_;
};

}  // namespace hoplink::transport
