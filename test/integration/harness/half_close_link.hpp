// One link whose two directions end one after the other, as TCP's half-close has them: the side that ends
// first shuts down its sending side (a FIN) once it has written everything and goes on receiving; the other
// side ends its own direction only after it has read that FIN. Both directions must arrive whole, each
// followed by a clean end of stream, and hoplink must report the link REASON=orderly on both sides.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "fake_tor.hpp"
#include "link.hpp"
#include "process.hpp"

namespace hoplink::itest {

enum class FirstToEnd { client, bridge };
std::string to_string(FirstToEnd side);

struct HalfCloseSpec {
  LinkSpec link;
  FirstToEnd first = FirstToEnd::client;
};

struct HalfCloseResult {
  HalfCloseSpec spec;
  LinkResult link;              // pump: the client side; bridge: the fake tor's record once it let go
  bool client_saw_fin = false;  // the bridge's direction ended in a FIN after its last byte, not a reset
  // Every byte both ways, both ends clean.
  bool ok() const;
  std::string describe() const;
};

// Sets `tor` (plain pump protocol, DataMode::pump or pump_half_close) to end its direction last or first,
// opens the link with `connect` (a stream to the client side: after a SOCKS CONNECT, or to an unmanaged
// client's --remote listener; an empty Fd if it could not) and runs it: the pump header, both streams at
// once, and the two ends in the order `spec.first` says. Then waits for the fake tor to close its side and
// closes the stream. Every wait ends within `timeout`. Call from one thread at a time: the data mode is
// `tor`'s, for every connection it accepts next.
HalfCloseResult run_half_close_link(FakeTor& tor, const std::function<Fd(Deadline)>& connect,
                                    HalfCloseSpec spec, std::chrono::milliseconds timeout);

// Waits (up to `timeout`) for `process` to print `count` STATUS lines with EVENT=closed, one per link. Empty
// when there are exactly `count` and every one says REASON=orderly; else the lines, and what is wrong.
std::string orderly_close_problems(const Process& process, std::size_t count,
                                   std::chrono::milliseconds timeout);

}  // namespace hoplink::itest
