// One hoplink App that serves a transport and connects to itself through a memory network, on a
// ManualRuntime: simulated time, advanced by the test. The test plays tor on both sides with real TCP sockets
// on loopback: a client connection into the App's client listener (a fixed --remote, no SOCKS) and a fake
// ORPort that the App's server side connects to.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "app/app.hpp"
#include "dpdk_io/memory_network.hpp"
#include "runtime/manual_runtime.hpp"

namespace hoplink::transport::in_process {

using namespace std::chrono_literals;

// `count` bytes of a pattern that differs by `seed`: what arrives is checked byte for byte.
std::vector<std::byte> pattern(std::size_t count, unsigned seed);

// One TCP connection of the test (tor's side of a link). Reads everything into `received` while reading is
// on; writes are queued in order.
class TcpPeer {
 public:
  explicit TcpPeer(tcp::socket socket);
  void write(std::vector<std::byte> bytes);
  void shutdown_send();
  // Closes with a reset (SO_LINGER 0), as a crashed tor would.
  void reset();
  void close();
  void pause_reading() { paused_ = true; }
  void resume_reading();

  std::vector<std::byte> received;
  std::size_t written = 0;  // bytes the kernel took
  bool eof = false;         // the other end closed its sending side (or the connection)
  error_code error;         // the first read or write error
  // As tor does: once the other end has closed its sending side, finish writing and close ours (FIN).
  // Off for a peer that keeps sending after the other side's half-close.
  bool end_on_eof = true;

 private:
  void read();
  void write_next();

  tcp::socket socket_;
  std::array<std::byte, 65536> buffer_{};
  std::vector<std::vector<std::byte>> queue_;
  bool writing_ = false;
  bool reading_ = false;
  bool paused_ = false;
  bool shutdown_pending_ = false;
  Lifetime lifetime_;
};

class InProcess {
 public:
  // `configure` adjusts the options before the App starts (the io backend is always the memory network).
  explicit InProcess(std::string transport, const std::function<void(Options&)>& configure = {});
  ~InProcess();

  // tor's client side opens a link: a TCP connection to the client listener. Returns it once connected.
  TcpPeer& connect();
  // connect(), then waits for the App to reach the ORPort with the link: (client side, ORPort side).
  std::pair<TcpPeer*, TcpPeer*> open_link();
  // The connections the App made to the fake ORPort, in order.
  std::vector<std::unique_ptr<TcpPeer>>& orport_connections() { return orport_peers_; }

  // Runs simulated time until done() or `limit`; returns done().
  bool run_until(const std::function<bool()>& done, Duration limit);
  void run_for(Duration d) { runtime.advance(d); }

  // The periodic STATUS fields of the transport, by key.
  std::map<std::string, std::string> status();
  std::uint64_t status_number(const std::string& key);
  // The STATUS lines hoplink wrote for closed links, and its LOG lines.
  std::vector<std::string> lines_containing(const std::string& text) const;

  asio::io_context io;
  ManualRuntime runtime{io};
  dio::MemoryNetwork network;
  std::string transport;
  Options options;
  PeerAddress bridge;  // where the client side sends: the memory network's host address and the served port
  PeerAddress client_listener;
  // TcpPeer::end_on_eof of the ORPort connections accepted from now on.
  bool orport_end_on_eof = true;

 private:
  void accept_orport();

  std::ostringstream out_;
  pt::Messages messages_{out_};
  tcp::acceptor orport_{io};
  std::unique_ptr<App> app_;
  std::vector<std::unique_ptr<TcpPeer>> client_peers_;
  std::vector<std::unique_ptr<TcpPeer>> orport_peers_;
  Lifetime lifetime_;
};

}  // namespace hoplink::transport::in_process
