// usrsctp stopped and started again in one process, as the in-process tests and the fuzzers do: its
// iterator thread comes back each time (usrsctp patch 0007), and a Stack whose associations ended in order,
// with peers registered and unregistered on the way, lets the next Stack start.
#include <catch2/catch.hpp>
#include <deque>
#include <filesystem>
#include <thread>
#include <vector>

#include "sctp/association.hpp"
#include "sctp/stack.hpp"

using namespace std::chrono_literals;

namespace hoplink::sctp::test {
namespace {

using Clock = std::chrono::steady_clock;

std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

struct Side : AssociationEvents {
  std::unique_ptr<Association> association;
  std::vector<std::byte> buffer = std::vector<std::byte>(64 * 1024);
  std::size_t to_send = 0;
  std::size_t received = 0;
  bool end_of_stream = false;
  std::optional<CloseReason> closed;

  void on_connected() override { push(); }
  void on_readable() override {
    while (association) {
      const ReceiveResult r = association->receive(buffer);
      received += r.bytes;
      if (r.end_of_stream) end_of_stream = true;
      if (r.bytes == 0) break;
    }
  }
  void on_writable() override { push(); }
  void on_closed(CloseReason reason) override { closed = reason; }
  void push() {
    while (association && to_send > 0) {
      const std::size_t n = association->send(std::span(buffer).first(std::min(to_send, buffer.size())));
      if (n == 0) return;
      to_send -= n;
    }
  }
};

// One Stack with a client and a server peer that deliver each other's packets on the next step.
class Loop {
 public:
  Loop() {
    StackConfig config;
    config.clock = [this] { return now_; };
    auto created = Stack::create(config, [this](PeerToken to, std::span<const std::byte> packet) {
      wire_.push_back({to, std::vector<std::byte>(packet.begin(), packet.end())});
    });
    if (!created) FAIL("Stack::create: " << created.error());
    stack = std::move(created.value());
  }

  void run_for(std::chrono::milliseconds duration) {
    const auto until = now_ + duration;
    while (now_ < until) {
      now_ += 1ms;
      std::deque<std::pair<PeerToken, std::vector<std::byte>>> arrived;
      arrived.swap(wire_);
      for (auto& [to, bytes] : arrived) stack->receive_packet(to == client ? server : client, bytes);
      stack->handle_timers(now_);
      stack->dispatch_events();
    }
  }

  std::unique_ptr<Stack> stack;
  PeerToken client{};
  PeerToken server{};

 private:
  Clock::time_point now_ = Clock::time_point{} + 1h;
  std::deque<std::pair<PeerToken, std::vector<std::byte>>> wire_;
};

// Three rounds, each a Stack that carries one association in both directions to an orderly end while
// peers come and go (every (un)registration queues an iterator over all endpoints).
TEST_CASE("usrsctp started again in one process runs its iterator thread and stops again",
          "[sctp][stack][restart]") {
  const std::size_t threads_before = thread_count();
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    Loop loop;
    // usrsctp_init_nothreads still starts the iterator thread; it must stay and wait for work. Without
    // patch 0007 every start after the first found the last stop's exit flag and left at once.
    std::this_thread::sleep_for(200ms);
    CHECK(thread_count() == threads_before + 1);

    loop.client = loop.stack->register_peer(false);
    loop.server = loop.stack->register_peer(false);
    Side client;
    Side server;
    client.to_send = 300000;
    server.to_send = 200000;
    REQUIRE(loop.stack
                ->listen(AssociationConfig{},
                         [&](std::unique_ptr<Association> a) {
                           server.association = std::move(a);
                           server.association->set_events(server);
                           server.push();
                         })
                .ok());
    auto connected = loop.stack->connect(loop.client, AssociationConfig{}, client);
    REQUIRE(connected.ok());
    client.association = std::move(connected.value());
    for (int i = 0; i < 5; ++i) {
      loop.stack->unregister_peer(loop.stack->register_peer(false));
      loop.run_for(100ms);
    }
    REQUIRE(client.received == 200000);
    REQUIRE(server.received == 300000);
    client.association->shutdown();
    server.association->shutdown();
    loop.run_for(2000ms);
    REQUIRE(client.closed);
    REQUIRE(server.closed);
    CHECK(*client.closed == CloseReason::shutdown_complete);
    CHECK(*server.closed == CloseReason::shutdown_complete);
    client.association.reset();
    server.association.reset();
    loop.stack.reset();
    // usrsctp_finish joined the iterator thread: a Stack that could not stop would also refuse the next.
    CHECK(thread_count() == threads_before);
  }
  auto next = Stack::create(StackConfig{}, [](PeerToken, std::span<const std::byte>) {});
  REQUIRE(next.ok());
}

}  // namespace
}  // namespace hoplink::sctp::test
