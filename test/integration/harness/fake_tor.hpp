// Tor's side of the bridge: an ORPort the hoplink server connects to. In extended mode it is an Extended
// ORPort (SAFE_COOKIE auth, USERADDR/TRANSPORT/DONE, OKAY or DENY); in plain mode a bare ORPort. After
// the handshake each connection either echoes or runs the pump protocol (PumpHeader, then two checked
// streams). Everything it sees is recorded per connection for the test thread to assert on; worker threads
// never call Catch.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "byte_stream.hpp"
#include "ext_or_auth.hpp"
#include "net.hpp"

namespace hoplink::itest {

enum class AuthMode {
  okay,
  deny,
  forged_server_hash,
  silent,  // accept the connection and never say anything (a hung tor)
};
enum class DataMode {
  pump,                // pump protocol, then wait for the PT to close
  pump_then_close,     // pump protocol, then close at once (tests that queued bytes still arrive)
  echo,                // echo everything until EOF
  pump_after_release,  // read the pump header, then read nothing until release() (a stalled tor)
  pump_half_close,     // pump protocol, shutting down the sending side (a FIN) once it is all written,
                       // then wait for the PT to close (tor's direction ends first)
};

struct FakeTorConfig {
  bool extended = true;
  AuthMode auth = AuthMode::okay;
  DataMode data = DataMode::pump;
  // Before answering DONE, watch this long for link bytes the PT must not send yet.
  std::chrono::milliseconds okay_delay{0};
};

struct OrConnRecord {
  int id = 0;
  // Extended ORPort phase.
  std::optional<std::uint8_t> auth_type;  // what the PT chose; SAFE_COOKIE is 1
  bool client_hash_ok = false;
  std::optional<std::size_t> bytes_after_forged_hash;  // what the PT sent before closing, if it closed
  std::vector<std::pair<std::uint16_t, std::string>> commands;
  std::optional<std::string> useraddr;
  std::optional<std::string> transport;
  bool early_link_bytes = false;  // bytes before OKAY
  bool pt_hung_up = false;        // after DENY, or while a silent tor said nothing
  bool handshake_done = false;    // OKAY sent (or plain mode)
  // Data phase.
  std::optional<PumpHeader> header;
  std::optional<PumpResult> pump;
  std::uint64_t echoed = 0;
  bool eof_after_data = false;  // the PT closed after the data phase without extra bytes
  bool finished = false;        // the handler is done with this connection
  std::string error;            // the first problem seen, empty if none
};

class FakeTor {
 public:
  // In extended mode writes a fresh cookie to `cookie_file`.
  FakeTor(FakeTorConfig config, std::filesystem::path cookie_file = {});
  ~FakeTor();
  FakeTor(const FakeTor&) = delete;
  FakeTor& operator=(const FakeTor&) = delete;

  std::uint16_t port() const { return port_; }
  const std::filesystem::path& cookie_file() const { return cookie_file_; }

  // Affects connections accepted from now on.
  void set_auth_mode(AuthMode mode);
  void set_data_mode(DataMode mode);
  // Writes a new cookie; the PT must re-read the file for the next connection.
  void rotate_cookie();
  // Lets pump_after_release connections go on.
  void release();

  std::vector<OrConnRecord> records() const;
  // Waits until `pred(records)` holds; false on timeout.
  bool wait_until(const std::function<bool(const std::vector<OrConnRecord>&)>& pred,
                  std::chrono::milliseconds timeout) const;
  // The record whose pump header carried `seed`, once its pump finished (or the handler ended).
  std::optional<OrConnRecord> wait_for_pump(std::uint64_t seed, std::chrono::milliseconds timeout) const;

 private:
  void accept_loop();
  void handle(int id, Fd fd, FakeTorConfig config, Bytes32 cookie);
  bool ext_or_handshake(int id, int fd, const FakeTorConfig& config, const Bytes32& cookie);
  void data_phase(int id, int fd, DataMode mode);
  void update(int id, const std::function<void(OrConnRecord&)>& change);

  Fd listener_;
  std::uint16_t port_ = 0;
  std::filesystem::path cookie_file_;
  Fd stop_event_;
  std::atomic<bool> stop_{false};
  bool released_ = false;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  FakeTorConfig config_;
  Bytes32 cookie_{};
  std::deque<OrConnRecord> records_;
  std::vector<int> open_fds_;
  std::vector<std::thread> handlers_;
  std::thread acceptor_;
};

}  // namespace hoplink::itest
