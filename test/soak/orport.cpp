#include "orport.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>

namespace hoplink::soak {
namespace {

using namespace std::chrono_literals;
using itest::IoStatus;

constexpr std::size_t kMaxHandlers = 2000;  // beyond it a connection is refused: bounds the thread count
constexpr auto kHandshakeTime = 15s;
constexpr auto kCloseTime = 20s;  // after its pump, how long the bridge side waits for the link to end

void reset_on_close(int fd) {
  linger hard{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
}

}  // namespace

SoakOrPort::SoakOrPort(Ledger& ledger, std::filesystem::path cookie_file)
    : ledger_(ledger),
      cookie_file_(std::move(cookie_file)),
      cut_(std::make_shared<std::atomic<bool>>(false)) {
  cookie_ = itest::random_bytes32();
  itest::write_cookie_file(cookie_file_, cookie_);
  itest::Fd listener = itest::tcp_listen();
  port_ = itest::local_port(listener.get());
  wake_ = itest::Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  acceptor_ = std::thread([this, listener = std::move(listener)]() mutable {
    listener_ = std::move(listener);
    accept_loop();
  });
}

SoakOrPort::~SoakOrPort() {
  stop_ = true;
  go_away();
  acceptor_.join();
  reap(true);
}

void SoakOrPort::go_away() {
  listening_ = false;
  std::uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  std::lock_guard lock(mutex_);
  cut_->store(true);
  cut_ = std::make_shared<std::atomic<bool>>(false);
  for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes handlers blocked in a read
}

void SoakOrPort::come_back() {
  listening_ = true;
  std::uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
}

void SoakOrPort::accept_loop() {
  // Bounded by stop_: the destructor sets it, and every wait here ends within 200 ms.
  while (!stop_) {
    if (listening_ && !listener_) {
      try {
        listener_ = itest::tcp_listen(port_);
      } catch (const std::exception&) {
        // The port is still held for a moment: try again on the next turn.
      }
    } else if (!listening_ && listener_) {
      listener_.reset();
    }
    pollfd fds[2] = {{listener_ ? listener_.get() : -1, POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    ::poll(fds, 2, 200);
    if (fds[1].revents) {
      std::uint64_t count;
      (void)!::read(wake_.get(), &count, sizeof count);
    }
    reap(false);
    if (!listener_ || !(fds[0].revents & POLLIN) || !listening_) continue;
    itest::Fd fd = itest::tcp_accept(listener_.get(), Clock::now());
    if (!fd) continue;
    if (handlers_.size() >= kMaxHandlers) continue;  // dropped: closes the connection
    ++accepted_;
    std::shared_ptr<std::atomic<bool>> cut;
    {
      std::lock_guard lock(mutex_);
      cut = cut_;
      open_fds_.insert(fd.get());
    }
    auto& handler = handlers_.emplace_back();
    handler.thread = std::thread([this, fd = std::move(fd), cut, done = handler.done]() mutable {
      handle(std::move(fd), std::move(cut));
      done->store(true);
    });
  }
  listener_.reset();
}

void SoakOrPort::reap(bool all) {
  for (auto it = handlers_.begin(); it != handlers_.end();) {
    if (all || it->done->load()) {
      it->thread.join();
      it = handlers_.erase(it);
    } else {
      ++it;
    }
  }
}

void SoakOrPort::handle(itest::Fd fd, std::shared_ptr<std::atomic<bool>> cut) {
  if (handshake(fd.get())) {
    serve_link(fd.get(), *cut);
  } else {
    ++handshake_failures_;
  }
  std::lock_guard lock(mutex_);
  open_fds_.erase(fd.get());
  if (cut->load()) reset_on_close(fd.get());  // a dying tor's connections end with a reset
  fd.reset();
}

// Tor's side of SAFE_COOKIE (ext-orport-spec.txt): auth types, nonces and hashes, then the PT's commands up
// to DONE, answered with OKAY.
bool SoakOrPort::handshake(int fd) {
  const auto deadline = itest::deadline_in(kHandshakeTime);
  const std::uint8_t auth_types[] = {0x01, 0x00};
  if (itest::send_all(fd, auth_types, deadline) != IoStatus::ok) return false;
  std::uint8_t chosen = 0;
  itest::Bytes32 client_nonce{};
  if (itest::recv_exact(fd, std::span(&chosen, 1), deadline) != IoStatus::ok || chosen != 0x01) return false;
  if (itest::recv_exact(fd, client_nonce, deadline) != IoStatus::ok) return false;
  const auto server_nonce = itest::random_bytes32();
  const auto server_hash = itest::ext_or_server_hash(cookie_, client_nonce, server_nonce);
  std::array<std::uint8_t, 64> reply{};
  std::copy(server_hash.begin(), server_hash.end(), reply.begin());
  std::copy(server_nonce.begin(), server_nonce.end(), reply.begin() + 32);
  if (itest::send_all(fd, reply, deadline) != IoStatus::ok) return false;
  itest::Bytes32 client_hash{};
  if (itest::recv_exact(fd, client_hash, deadline) != IoStatus::ok) return false;
  const bool hash_ok = client_hash == itest::ext_or_client_hash(cookie_, client_nonce, server_nonce);
  const std::uint8_t status = hash_ok ? 1 : 0;
  if (itest::send_all(fd, std::span(&status, 1), deadline) != IoStatus::ok || !hash_ok) return false;
  for (int count = 0; count < 64; ++count) {
    std::array<std::uint8_t, 4> head{};
    if (itest::recv_exact(fd, head, deadline) != IoStatus::ok) return false;
    const std::size_t length = static_cast<std::size_t>(head[2] << 8 | head[3]);
    std::vector<std::uint8_t> body(length);
    if (itest::recv_exact(fd, body, deadline) != IoStatus::ok) return false;
    if ((head[0] << 8 | head[1]) == itest::kExtOrDone) {
      const std::uint8_t okay[] = {itest::kExtOrOkay >> 8, itest::kExtOrOkay & 0xff, 0, 0};
      return itest::send_all(fd, okay, deadline) == IoStatus::ok;
    }
  }
  return false;
}

void SoakOrPort::serve_link(int fd, const std::atomic<bool>& cut) {
  std::array<std::uint8_t, 32> raw{};
  if (itest::recv_exact(fd, raw, itest::deadline_in(kHandshakeTime)) != IoStatus::ok) return;
  const auto header = itest::PumpHeader::parse(raw);
  if (!header) {
    ++bad_headers_;
    return;
  }
  const auto plan = ledger_.plan(header->seed);
  if (!plan) return;  // the client side gave up on this link already
  ledger_.mark_seen(plan->seed);
  if (header->up != plan->up || header->down != plan->down) {
    ++bad_headers_;
    return;
  }
  const bool abandon = by_bridge(plan->abandon);
  const itest::StreamSpec send{itest::down_seed(plan->seed), abandon ? plan->cut_down : plan->down};
  const itest::StreamSpec expect{plan->seed, abandon ? plan->cut_up : plan->up};
  const auto result = itest::duplex_pump(fd, send, expect, plan->deadline, &cut);
  ledger_.report(plan->seed, result);
  if (!result.ok) return;
  if (abandon) {
    if (plan->abandon == Abandon::bridge_reset) reset_on_close(fd);
    return;
  }
  // The client side closes once it has both results; nothing may arrive before that.
  const auto rest = itest::recv_until_closed(fd, itest::deadline_in(kCloseTime));
  if (!rest.bytes.empty()) ++trailing_bytes_;
}

}  // namespace hoplink::soak
