// The Runtime's own contract, on ManualRuntime (and once on SystemRuntime): timers in deadline order and
// never after their owner is gone, tasks coalesced, the end of a round running hooks before flushes.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "runtime/manual_runtime.hpp"
#include "runtime/system_runtime.hpp"

using namespace hoplink::transport;
using namespace std::chrono_literals;

namespace {

struct Port final : Flushable {
  Port(std::vector<std::string>& log, std::string name) : log(log), name(std::move(name)) {}
  void flush() override { log.push_back("flush " + name); }
  std::vector<std::string>& log;
  std::string name;
};

}  // namespace

TEST_CASE("runtime: timers fire in deadline order, equal deadlines in the order armed") {
  asio::io_context io;
  ManualRuntime runtime(io);
  std::vector<int> fired;
  Timer a(runtime, [&] { fired.push_back(1); });
  Timer b(runtime, [&] { fired.push_back(2); });
  Timer c(runtime, [&] { fired.push_back(3); });
  const auto t0 = runtime.now();
  c.arm_at(t0 + 30ms);
  a.arm_at(t0 + 10ms);
  b.arm_at(t0 + 10ms);
  runtime.advance(9ms);
  CHECK(fired.empty());
  runtime.advance(1ms);
  CHECK(fired == std::vector<int>{1, 2});
  CHECK_FALSE(a.armed());
  CHECK(c.armed());
  runtime.advance(100ms);
  CHECK(fired == std::vector<int>{1, 2, 3});
  CHECK(runtime.now() == t0 + 110ms);
}

TEST_CASE("runtime: a timer re-armed moves, a cancelled or destroyed one never fires") {
  asio::io_context io;
  ManualRuntime runtime(io);
  int fired = 0;
  Timer moved(runtime, [&] { ++fired; });
  moved.arm_after(10ms);
  moved.arm_after(50ms);
  runtime.advance(20ms);
  CHECK(fired == 0);
  CHECK(moved.deadline() == runtime.now() + 30ms);
  moved.cancel();
  runtime.advance(100ms);
  CHECK(fired == 0);
  auto owned = std::make_unique<Timer>(runtime, [&] { ++fired; });
  owned->arm_after(10ms);
  owned.reset();
  runtime.advance(100ms);
  CHECK(fired == 0);
}

TEST_CASE("runtime: a timer its own callback re-arms for the past fires on the next pass, not in a loop") {
  asio::io_context io;
  ManualRuntime runtime(io);
  int fired = 0;
  Timer timer(runtime);
  std::function<void()> again = [&] {
    if (++fired < 5) timer.arm_at(runtime.now() - 1ms, again);
  };
  timer.arm_after(1ms, again);
  runtime.advance(1ms);
  CHECK(fired == 5);  // each pass of poll() fired it once more
  CHECK_FALSE(timer.armed());
}

TEST_CASE("runtime: a task runs once however often it was scheduled, and not when cancelled") {
  asio::io_context io;
  ManualRuntime runtime(io);
  int runs = 0;
  Task task(runtime, [&] { ++runs; });
  task.schedule();
  task.schedule();
  CHECK(task.scheduled());
  CHECK(runs == 0);  // deferred to the loop
  runtime.poll();
  CHECK(runs == 1);
  task.schedule();
  task.cancel();
  runtime.poll();
  CHECK(runs == 1);
  auto owned = std::make_unique<Task>(runtime, [&] { ++runs; });
  owned->schedule();
  owned.reset();
  runtime.poll();
  CHECK(runs == 1);
}

TEST_CASE("runtime: a task that reschedules itself runs again in the next batch, not in this one") {
  asio::io_context io;
  ManualRuntime runtime(io);
  int runs = 0;
  int other = 0;
  std::unique_ptr<Task> busy;
  busy = std::make_unique<Task>(runtime, [&] {
    if (++runs < 3) busy->schedule();
  });
  Task once(runtime, [&] { ++other; });
  busy->schedule();
  once.schedule();
  CHECK(io.run_one() == 1);  // one asio handler: the batch queued before it
  CHECK(runs == 1);
  CHECK(other == 1);
  runtime.poll();
  CHECK(runs == 3);
}

TEST_CASE("runtime: the end of a round runs the hooks then flushes each port that asked, once") {
  asio::io_context io;
  ManualRuntime runtime(io);
  std::vector<std::string> log;
  Port a(log, "a");
  Port b(log, "b");
  Port gone(log, "gone");
  const auto hook = runtime.add_round_hook([&] {
    log.push_back("hook");
    runtime.request_flush(b);  // a hook's sends leave in the same round
  });
  runtime.request_flush(a);
  runtime.request_flush(a);
  runtime.request_flush(gone);
  runtime.cancel_flush(gone);
  runtime.end_round();
  CHECK(log == std::vector<std::string>{"hook", "flush a", "flush b"});
  // A request outside a round schedules one end of round, from the loop.
  log.clear();
  runtime.request_flush(a);
  runtime.end_round_soon();
  CHECK(log.empty());
  runtime.poll();
  CHECK(log == std::vector<std::string>{"hook", "flush a", "flush b"});
  runtime.remove_round_hook(hook);
  log.clear();
  runtime.end_round();
  CHECK(log.empty());
}

TEST_CASE("runtime: ManualRuntime::run_for stops when done or at the limit of simulated time") {
  asio::io_context io;
  ManualRuntime runtime(io);
  bool done = false;
  Timer timer(runtime, [&] { done = true; });
  timer.arm_after(5s);
  const auto start = runtime.now();
  CHECK(runtime.run_for([&] { return done; }, 60s));
  CHECK(runtime.now() - start <= 5s + 10ms);
  CHECK_FALSE(runtime.run_for([] { return false; }, 2s));
  CHECK(runtime.now() - start >= 7s);
}

TEST_CASE("runtime: SystemRuntime fires timers on the real clock") {
  asio::io_context io;
  SystemRuntime runtime(io);
  bool fired = false;
  Timer timer(runtime, [&] { fired = true; });
  const auto start = runtime.now();
  timer.arm_after(5ms);
  runtime.run_until([&] { return fired; }, start + 5s);
  CHECK(fired);
  CHECK(runtime.now() - start >= 5ms);
}
