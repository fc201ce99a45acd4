// The one liveness idiom of transport/: an object that hands `this` to asio (a socket read, a descriptor
// wait) holds a Lifetime and wraps those handlers in guard(). asio runs a cancelled operation's handler
// later, with operation_aborted, possibly after its owner is gone; a guarded handler then does nothing.
// Timers and deferred work go through the Runtime (Timer, Task), which never calls back a destroyed owner, so
// they need no guard.
#pragma once

#include <memory>
#include <utility>

namespace hoplink::transport {

class Lifetime {
 public:
  Lifetime() = default;
  ~Lifetime() { *alive_ = false; }
  Lifetime(const Lifetime&) = delete;
  Lifetime& operator=(const Lifetime&) = delete;

  // `handler`, run only while the owner of this Lifetime lives.
  template <class Handler>
  auto guard(Handler handler) const {
    return [alive = alive_, handler = std::move(handler)](auto&&... args) mutable {
      if (*alive) handler(std::forward<decltype(args)>(args)...);
    };
  }

 private:
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hoplink::transport
