#include "fake_tor.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace hoplink::itest {
namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(15);
constexpr auto kDataTimeout = std::chrono::seconds(200);
constexpr auto kCloseTimeout = std::chrono::seconds(30);

std::array<std::uint8_t, 4> command_header(std::uint16_t cmd, std::uint16_t len) {
  return {static_cast<std::uint8_t>(cmd >> 8), static_cast<std::uint8_t>(cmd),
          static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)};
}

std::string io_error(const char* what, IoStatus status) {
  return std::string(what) + ": " + to_string(status);
}

}  // namespace

FakeTor::FakeTor(FakeTorConfig config, std::filesystem::path cookie_file)
    : cookie_file_(std::move(cookie_file)), config_(config) {
  listener_ = tcp_listen();
  port_ = local_port(listener_.get());
  stop_event_ = Fd(::eventfd(0, EFD_CLOEXEC));
  if (config_.extended) {
    cookie_ = random_bytes32();
    write_cookie_file(cookie_file_, cookie_);
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeTor::~FakeTor() {
  stop_ = true;
  std::uint64_t one = 1;
  (void)!::write(stop_event_.get(), &one, sizeof one);
  acceptor_.join();
  {
    std::lock_guard lock(mutex_);
    changed_.notify_all();                               // wakes handlers waiting for release()
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes handlers blocked in poll
  }
  for (auto& t : handlers_) t.join();
}

void FakeTor::set_auth_mode(AuthMode mode) {
  std::lock_guard lock(mutex_);
  config_.auth = mode;
}

void FakeTor::set_data_mode(DataMode mode) {
  std::lock_guard lock(mutex_);
  config_.data = mode;
}

void FakeTor::rotate_cookie() {
  std::lock_guard lock(mutex_);
  cookie_ = random_bytes32();
  write_cookie_file(cookie_file_, cookie_);
}

void FakeTor::release() {
  std::lock_guard lock(mutex_);
  released_ = true;
  changed_.notify_all();
}

std::vector<OrConnRecord> FakeTor::records() const {
  std::lock_guard lock(mutex_);
  return {records_.begin(), records_.end()};
}

bool FakeTor::wait_until(const std::function<bool(const std::vector<OrConnRecord>&)>& pred,
                         std::chrono::milliseconds timeout) const {
  auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mutex_);
  for (;;) {
    if (pred(std::vector<OrConnRecord>(records_.begin(), records_.end()))) return true;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return pred(std::vector<OrConnRecord>(records_.begin(), records_.end()));
    }
  }
}

std::optional<OrConnRecord> FakeTor::wait_for_pump(std::uint64_t seed,
                                                   std::chrono::milliseconds timeout) const {
  std::optional<OrConnRecord> found;
  wait_until(
      [&](const std::vector<OrConnRecord>& all) {
        for (const auto& r : all) {
          if (r.header && r.header->seed == seed && (r.pump || r.finished)) {
            found = r;
            return true;
          }
        }
        return false;
      },
      timeout);
  return found;
}

void FakeTor::update(int id, const std::function<void(OrConnRecord&)>& change) {
  std::lock_guard lock(mutex_);
  change(records_[static_cast<std::size_t>(id)]);
  changed_.notify_all();
}

void FakeTor::accept_loop() {
  while (!stop_) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_event_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) <= 0) continue;
    if (fds[1].revents) return;
    Fd fd = tcp_accept(listener_.get(), Clock::now());
    if (!fd) continue;
    std::lock_guard lock(mutex_);
    int id = static_cast<int>(records_.size());
    records_.emplace_back().id = id;
    open_fds_.push_back(fd.get());
    changed_.notify_all();
    handlers_.emplace_back([this, id, fd = std::move(fd), config = config_, cookie = cookie_]() mutable {
      handle(id, std::move(fd), config, cookie);
    });
  }
}

void FakeTor::handle(int id, Fd fd, FakeTorConfig config, Bytes32 cookie) {
  bool go_on = !config.extended || ext_or_handshake(id, fd.get(), config, cookie);
  if (go_on) {
    update(id, [](OrConnRecord& r) { r.handshake_done = true; });
    data_phase(id, fd.get(), config.data);
  }
  std::lock_guard lock(mutex_);
  std::erase(open_fds_, fd.get());
  fd.reset();
  records_[static_cast<std::size_t>(id)].finished = true;
  changed_.notify_all();
}

// Returns true when OKAY was sent and link bytes may flow.
bool FakeTor::ext_or_handshake(int id, int fd, const FakeTorConfig& config, const Bytes32& cookie) {
  auto deadline = deadline_in(kHandshakeTimeout);
  if (config.auth == AuthMode::silent) {
    auto drained = recv_until_closed(fd, deadline_in(kCloseTimeout));
    update(id, [&](OrConnRecord& r) { r.pt_hung_up = drained.status == IoStatus::closed; });
    return false;
  }
  auto fail = [&](std::string error) {
    update(id, [&](OrConnRecord& r) {
      if (r.error.empty()) r.error = std::move(error);
    });
    return false;
  };
  const std::uint8_t auth_types[] = {0x01, 0x00};
  if (auto s = send_all(fd, auth_types, deadline); s != IoStatus::ok)
    return fail(io_error("send auth types", s));
  std::uint8_t chosen = 0;
  if (auto s = recv_exact(fd, std::span(&chosen, 1), deadline); s != IoStatus::ok) {
    return fail(io_error("read auth type", s));
  }
  update(id, [&](OrConnRecord& r) { r.auth_type = chosen; });
  if (chosen != 0x01) return fail("PT chose auth type " + std::to_string(chosen) + ", not SAFE_COOKIE (1)");
  Bytes32 client_nonce{};
  if (auto s = recv_exact(fd, client_nonce, deadline); s != IoStatus::ok)
    return fail(io_error("read nonce", s));

  Bytes32 server_nonce = random_bytes32();
  Bytes32 server_hash = config.auth == AuthMode::forged_server_hash
                            ? random_bytes32()
                            : ext_or_server_hash(cookie, client_nonce, server_nonce);
  std::uint8_t reply[64];
  std::copy(server_hash.begin(), server_hash.end(), reply);
  std::copy(server_nonce.begin(), server_nonce.end(), reply + 32);
  if (auto s = send_all(fd, reply, deadline); s != IoStatus::ok) return fail(io_error("send server hash", s));

  if (config.auth == AuthMode::forged_server_hash) {
    // A PT that checks the server hash hangs up here without proving it knows the cookie.
    auto drained = recv_until_closed(fd, deadline);
    update(id, [&](OrConnRecord& r) {
      if (drained.status == IoStatus::closed) r.bytes_after_forged_hash = drained.bytes.size();
    });
    return false;
  }

  Bytes32 client_hash{};
  if (auto s = recv_exact(fd, client_hash, deadline); s != IoStatus::ok)
    return fail(io_error("read client hash", s));
  bool hash_ok = client_hash == ext_or_client_hash(cookie, client_nonce, server_nonce);
  update(id, [&](OrConnRecord& r) { r.client_hash_ok = hash_ok; });
  std::uint8_t status = hash_ok ? 1 : 0;
  if (auto s = send_all(fd, std::span(&status, 1), deadline); s != IoStatus::ok) {
    return fail(io_error("send auth status", s));
  }
  if (!hash_ok) return fail("client hash does not match the cookie");

  for (int count = 0;; ++count) {
    if (count > 64) return fail("more than 64 commands before DONE");
    std::uint8_t head[4];
    if (auto s = recv_exact(fd, head, deadline); s != IoStatus::ok) return fail(io_error("read command", s));
    auto cmd = static_cast<std::uint16_t>(head[0] << 8 | head[1]);
    auto len = static_cast<std::uint16_t>(head[2] << 8 | head[3]);
    std::string body(len, '\0');
    if (auto s = recv_exact(fd, std::span(reinterpret_cast<std::uint8_t*>(body.data()), len), deadline);
        s != IoStatus::ok) {
      return fail(io_error("read command body", s));
    }
    update(id, [&](OrConnRecord& r) {
      r.commands.emplace_back(cmd, body);
      if (cmd == kExtOrUserAddr) r.useraddr = body;
      if (cmd == kExtOrTransport) r.transport = body;
    });
    if (cmd == kExtOrDone) {
      if (len != 0) return fail("DONE with a body");
      break;
    }
  }

  if (config.okay_delay.count() > 0 && wait_for(fd, POLLIN, deadline_in(config.okay_delay))) {
    std::uint8_t peek;
    if (::recv(fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) == 1) {
      update(id, [](OrConnRecord& r) { r.early_link_bytes = true; });
    }
  }

  if (config.auth == AuthMode::deny) {
    auto deny = command_header(kExtOrDeny, 0);
    send_all(fd, deny, deadline);
    auto drained = recv_until_closed(fd, deadline_in(kCloseTimeout));
    update(id, [&](OrConnRecord& r) { r.pt_hung_up = drained.status == IoStatus::closed; });
    return false;
  }
  auto okay = command_header(kExtOrOkay, 0);
  if (auto s = send_all(fd, okay, deadline); s != IoStatus::ok) return fail(io_error("send OKAY", s));
  return true;
}

void FakeTor::data_phase(int id, int fd, DataMode mode) {
  auto deadline = deadline_in(kDataTimeout);
  if (mode == DataMode::echo) {
    std::uint8_t buf[65536];
    for (;;) {
      if (!wait_for(fd, POLLIN, deadline) || stop_) return;
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        update(id, [](OrConnRecord& r) { r.eof_after_data = true; });
        return;
      }
      if (n < 0) continue;
      if (send_all(fd, std::span(buf, static_cast<std::size_t>(n)), deadline) != IoStatus::ok) return;
      update(id, [n](OrConnRecord& r) { r.echoed += static_cast<std::uint64_t>(n); });
    }
  }

  std::array<std::uint8_t, 32> raw{};
  if (auto s = recv_exact(fd, raw, deadline); s != IoStatus::ok) {
    update(id, [&](OrConnRecord& r) { r.error = io_error("read pump header", s); });
    return;
  }
  auto header = PumpHeader::parse(raw);
  if (!header) {
    update(id, [&](OrConnRecord& r) { r.error = "first link bytes are not a pump header"; });
    return;
  }
  update(id, [&](OrConnRecord& r) { r.header = header; });
  if (mode == DataMode::pump_after_release) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_until(lock, deadline, [this] { return released_ || stop_; }) || stop_) return;
  }
  auto result = duplex_pump(fd, {down_seed(header->seed), header->down}, {header->seed, header->up}, deadline,
                            &stop_, mode == DataMode::pump_half_close);
  update(id, [&](OrConnRecord& r) { r.pump = result; });
  if (!result.ok || mode == DataMode::pump_then_close) return;
  auto rest = recv_until_closed(fd, deadline_in(kCloseTimeout));
  update(id, [&](OrConnRecord& r) {
    r.eof_after_data = rest.status == IoStatus::closed && rest.bytes.empty();
    if (!rest.bytes.empty()) r.error = std::to_string(rest.bytes.size()) + " unexpected bytes after the pump";
  });
}

}  // namespace hoplink::itest
