// DatagramPort over a polled backend (no readiness descriptor, like DPDK): delivery, idle back-off, wake-ups
// by descriptor and by sending, and the loop's other work going on while the port polls continuously.
#include "io/datagram_port.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "dpdk_io/memory_pair.hpp"
#include "runtime/system_runtime.hpp"

using namespace hoplink;
using namespace hoplink::transport;
using namespace std::chrono_literals;

namespace {

// The memory pair's endpoint `a`, with a poll policy, a wake descriptor (an eventfd the test pokes) and a
// count of receive calls.
class PolledBackend final : public dio::DatagramIo {
 public:
  PolledBackend(std::unique_ptr<dio::DatagramIo> inner, dio::PollPolicy policy)
      : inner_(std::move(inner)), policy_(policy), wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~PolledBackend() override { ::close(wake_); }

  Result<std::size_t, dio::IoError> receive_burst(std::span<dio::ReceivedDatagram> out) override {
    ++*receive_calls;
    return inner_->receive_burst(out);
  }
  bool enqueue(const PeerAddress& to, std::span<const std::byte> payload) override {
    return inner_->enqueue(to, payload);
  }
  Result<std::size_t, dio::IoError> flush() override { return inner_->flush(); }
  std::size_t pending_tx() const override { return inner_->pending_tx(); }
  std::size_t tx_capacity() const override { return inner_->tx_capacity(); }
  std::size_t max_payload() const override { return inner_->max_payload(); }
  int readiness_fd() const override { return -1; }
  PeerAddress local_address() const override { return inner_->local_address(); }
  const dio::IoCounters& counters() const override { return inner_->counters(); }
  std::string_view backend_name() const override { return "polled"; }
  int last_errno() const override { return 0; }
  dio::PollPolicy poll_policy() const override { return policy_; }
  int prepare_wait() override {
    ++*waits;
    return wake_;
  }
  void end_wait() override {
    std::uint64_t count = 0;
    [[maybe_unused]] auto read = ::read(wake_, &count, sizeof count);
  }

  void poke() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(wake_, &one, sizeof one);
  }
  // Shared so that the test still reads them through the port's backend.
  std::shared_ptr<std::uint64_t> receive_calls = std::make_shared<std::uint64_t>(0);
  std::shared_ptr<std::uint64_t> waits = std::make_shared<std::uint64_t>(0);

 private:
  std::unique_ptr<dio::DatagramIo> inner_;
  dio::PollPolicy policy_;
  int wake_;
};

std::vector<std::byte> bytes_of(std::string_view text) {
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

struct Fixture {
  explicit Fixture(dio::PollPolicy policy) {
    runtime.add_round_hook([this] { ++settles; });
    auto [a, b] = dio::make_memory_pair();
    peer = std::move(b);
    auto backend = std::make_unique<PolledBackend>(std::move(a), policy);
    polled = backend.get();
    port = std::make_unique<DatagramPort>(
        runtime, std::move(backend), [this](const dio::ReceivedDatagram& datagram) {
          received.emplace_back(reinterpret_cast<const char*>(datagram.payload.data()),
                                datagram.payload.size());
        });
    port->start();
  }
  void peer_sends(std::string_view text) {
    REQUIRE(peer->enqueue(port->local_address(), bytes_of(text)));
    REQUIRE(peer->flush().ok());
  }
  // Runs the loop until `count` datagrams arrived or `limit` passed.
  void run_until_received(std::size_t count, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (received.size() < count && std::chrono::steady_clock::now() < deadline) io.run_for(5ms);
  }

  asio::io_context io;
  SystemRuntime runtime{io};
  std::unique_ptr<dio::DatagramIo> peer;
  PolledBackend* polled = nullptr;
  std::unique_ptr<DatagramPort> port;
  std::vector<std::string> received;
  int settles = 0;
};

}  // namespace

TEST_CASE("datagram port: a polled backend's datagrams reach the handler and replies leave") {
  Fixture f({200us, 1000us});
  f.peer_sends("one");
  f.peer_sends("two");
  f.run_until_received(2, 5s);
  CHECK(f.received == std::vector<std::string>{"one", "two"});
  CHECK(f.settles >= 1);
  f.port->send(f.peer->local_address(), bytes_of("reply"));
  f.port->flush();
  std::array<dio::ReceivedDatagram, 4> out{};
  auto n = f.peer->receive_burst(out);
  REQUIRE(n.ok());
  CHECK(*n == 1);
}

TEST_CASE("datagram port: an idle polled port sleeps instead of spinning") {
  Fixture f({0us, 20000us});
  f.io.run_for(300ms);
  // Busy polling would make hundreds of thousands of calls; 20 ms sleeps make about 15.
  CHECK(*f.polled->receive_calls < 200);
  CHECK(*f.polled->waits >= 2);
}

TEST_CASE("datagram port: the wake descriptor ends a sleep early") {
  Fixture f({0us, 10'000'000us});  // a 10 s sleep: only the descriptor can deliver within the limit
  f.io.run_for(50ms);
  REQUIRE(*f.polled->waits >= 1);
  f.peer_sends("woken");
  f.polled->poke();
  f.run_until_received(1, 3s);
  CHECK(f.received == std::vector<std::string>{"woken"});
}

TEST_CASE("datagram port: sending wakes a sleeping port, which polls busily for the answer") {
  Fixture f({2'000'000us, 10'000'000us});  // 2 s of busy polling after traffic, 10 s sleeps
  f.io.run_for(50ms);
  REQUIRE(*f.polled->waits >= 1);  // asleep: nothing has happened yet
  f.port->send(f.peer->local_address(), bytes_of("request"));
  f.port->flush();
  f.peer_sends("answer");  // no poke: only the send can have ended the 10 s sleep
  f.run_until_received(1, 1500ms);
  CHECK(f.received == std::vector<std::string>{"answer"});
}

TEST_CASE("datagram port: continuous polling leaves the loop's timers and sockets their turn") {
  Fixture f({0us, 0us});  // idle_sleep 0: never sleeps
  asio::steady_timer timer(f.io);
  int fired = 0;
  std::function<void()> arm = [&] {
    timer.expires_after(1ms);
    timer.async_wait([&](const error_code& ec) {
      if (ec) return;
      if (++fired < 20) arm();
    });
  };
  arm();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (fired < 20 && std::chrono::steady_clock::now() < deadline) f.io.run_for(10ms);
  CHECK(fired == 20);
  CHECK(*f.polled->waits == 0);
  CHECK(*f.polled->receive_calls > 20);
}
