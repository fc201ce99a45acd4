// The Runtime: what every transport component is given instead of reading the clock or owning asio timers.
// It holds the clock, the timers, deferred tasks and the end of a round (the SCTP stack's events are
// dispatched, then every datagram port that queued something sends its batch). Two implementations:
// SystemRuntime (steady_clock, one asio timer) runs hoplink; ManualRuntime (time moves only when a test says
// so) runs the in-process tests. One Runtime per event loop and thread: a worker process would own its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "runtime/asio.hpp"
#include "runtime/lifetime.hpp"

namespace hoplink::transport {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

class Runtime;

// A one-shot timer owned by whoever it calls: cancelled when destroyed, so its callback never outlives its
// owner. Re-arming replaces the pending deadline.
class Timer {
 public:
  using Callback = std::function<void()>;

  explicit Timer(Runtime& runtime, Callback callback = {});
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void arm_at(TimePoint when);
  void arm_at(TimePoint when, Callback callback);
  void arm_after(Duration delay);
  void arm_after(Duration delay, Callback callback);
  void cancel();
  bool armed() const { return armed_; }
  TimePoint deadline() const { return key_.first; }

 private:
  friend class Runtime;
  Runtime& runtime_;
  Callback callback_;
  std::pair<TimePoint, std::uint64_t> key_{};
  bool armed_ = false;
};

// Work deferred to the loop: runs once, after the handler that scheduled it, however often it was
// scheduled meanwhile. Cancelled when destroyed. No allocation per schedule.
class Task {
 public:
  Task(Runtime& runtime, std::function<void()> work);
  ~Task();
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  void schedule();
  void cancel();
  bool scheduled() const { return scheduled_; }

 private:
  friend class Runtime;
  Runtime& runtime_;
  std::function<void()> work_;
  Task* prev_ = nullptr;
  Task* next_ = nullptr;
  std::uint64_t batch_ = 0;
  bool scheduled_ = false;
};

// Something that queues datagrams and sends them when the round ends (a DatagramPort).
class Flushable {
 public:
  virtual void flush() = 0;

 protected:
  ~Flushable() = default;

 private:
  friend class Runtime;
  bool flush_requested_ = false;
};

class Runtime {
 public:
  explicit Runtime(asio::io_context& io);
  virtual ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  asio::io_context& io() { return io_; }
  virtual TimePoint now() const = 0;

  // The end of a round of work: every round hook runs (the SCTP host dispatches its events there), then
  // every port that asked since the last round flushes, each once. end_round() ends it now (after a drained
  // burst of datagrams); end_round_soon() after the current handler, coalesced.
  std::uint64_t add_round_hook(std::function<void()> hook);
  void remove_round_hook(std::uint64_t id);
  void end_round();
  void end_round_soon();
  // `port` has datagrams queued: it is flushed at the end of this round (scheduled if none is under way).
  void request_flush(Flushable& port);
  // `port` goes away: forget its request.
  void cancel_flush(Flushable& port);

  // Start-up only (the SOCKS5 proxy check, before run()): runs the loop until `done` or `deadline`.
  virtual void run_until(const std::function<bool()>& done, TimePoint deadline) = 0;

 protected:
  // Fires, in deadline order, the timers due at `now` that were armed before this call (a timer re-armed
  // for the past from its own callback fires on the next call). Returns how many fired.
  std::size_t fire_due_timers(TimePoint now);
  std::optional<TimePoint> next_deadline() const;
  // The earliest deadline may have changed: the system runtime re-arms its asio timer.
  virtual void deadlines_changed() {}
  // Guards the handlers this runtime hands to asio, a derived runtime's too: they may run after it is gone.
  const Lifetime& lifetime() const { return lifetime_; }

 private:
  friend class Timer;
  friend class Task;
  void rearm(Timer& timer, TimePoint when);
  void erase(Timer& timer);
  void enqueue(Task& task);
  void unlink(Task& task);
  void run_tasks();

  asio::io_context& io_;
  std::map<std::pair<TimePoint, std::uint64_t>, Timer*> timers_;
  std::uint64_t timer_sequence_ = 0;
  bool firing_ = false;  // deadlines_changed() once, after the due timers fired
  // Scheduled tasks, an intrusive FIFO; one asio handler runs the batch that was queued when it started.
  Task* head_ = nullptr;
  Task* tail_ = nullptr;
  std::uint64_t batch_ = 0;
  bool tasks_posted_ = false;
  std::map<std::uint64_t, std::function<void()>> round_hooks_;
  std::uint64_t next_hook_ = 0;
  std::vector<Flushable*> flush_requests_;
  bool in_round_ = false;
  std::optional<Task> round_task_;
  Lifetime lifetime_;
};

}  // namespace hoplink::transport
