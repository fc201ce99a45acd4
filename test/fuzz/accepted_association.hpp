// The bridge's side of an association a fuzz harness got the stack to accept, shared by the harnesses that
// open associations (sctp_packet, the transports).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "sctp/association.hpp"

namespace hoplink::fuzz {

// Reads everything that arrives and, with echo_bytes > 0, sends back up to that much of each read, so that
// the sending path (DATA, SACK, pacing, buffer tuning) runs too. Its callbacks come from the stack's event
// dispatch. Registers itself for the association's events: keep it where it does not move (a unique_ptr).
class AcceptedAssociation final : public sctp::AssociationEvents {
 public:
  AcceptedAssociation(std::unique_ptr<sctp::Association> association, std::size_t echo_bytes)
      : association_(std::move(association)), echo_bytes_(echo_bytes) {
    association_->set_events(*this);
  }
  AcceptedAssociation(const AcceptedAssociation&) = delete;
  AcceptedAssociation& operator=(const AcceptedAssociation&) = delete;

  const sctp::Association& association() const { return *association_; }
  bool closed() const { return closed_; }

  void on_connected() override {}
  void on_readable() override {
    std::array<std::byte, 4096> buffer;
    for (int i = 0; i < 64 && !closed_; ++i) {
      const auto read = association_->receive(buffer);
      if (read.bytes == 0) break;
      if (echo_bytes_ > 0) association_->send(std::span(buffer).first(std::min(read.bytes, echo_bytes_)));
    }
  }
  void on_writable() override {}
  void on_closed(sctp::CloseReason) override { closed_ = true; }

 private:
  std::unique_ptr<sctp::Association> association_;
  std::size_t echo_bytes_;
  bool closed_ = false;
};

using AcceptedList = std::vector<std::unique_ptr<AcceptedAssociation>>;

// Drops the closed associations, and the oldest open ones beyond `max` (destroying one aborts it), so that an
// input cannot pile up associations. `on_drop` hears of each before it goes.
inline void prune_accepted(AcceptedList& accepted, std::size_t max,
                           const std::function<void(const AcceptedAssociation&)>& on_drop = {}) {
  std::size_t excess = accepted.size() > max ? accepted.size() - max : 0;
  std::erase_if(accepted, [&](const std::unique_ptr<AcceptedAssociation>& a) {
    if (!a->closed()) {
      if (excess == 0) return false;
      --excess;
    }
    if (on_drop) on_drop(*a);
    return true;
  });
}

}  // namespace hoplink::fuzz
