#include "world.hpp"

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <tuple>
#include <utility>

#include "proc_net.hpp"

namespace hoplink::soak {
namespace {

using namespace std::chrono_literals;

constexpr int kBridgeStable = 0, kClientStable = 1, kBridgeKilled = 2, kClientKilled = 3;
constexpr auto kRestartAfter = 2s;
// Links that end this soon after a disruption ends still count as disrupted: a restarted peer's first
// handshakes, a link that was already failing when tor came back.
constexpr auto kAfterglow = 5s;
constexpr std::size_t kMaxFindings = 40;

int orport_of(int bridge) {
  return bridge / 2;
}

// VmRSS and VmHWM of `pid`, in bytes.
std::pair<std::uint64_t, std::uint64_t> memory_of(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::uint64_t rss = 0, hwm = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) rss = std::stoull(line.substr(6)) * 1024;
    if (line.starts_with("VmHWM:")) hwm = std::stoull(line.substr(6)) * 1024;
  }
  return {rss, hwm};
}

// The periodic totals of `transport` (a process may report other transports too).
auto periodic_status(const std::string& transport) {
  return [prefix = "STATUS TRANSPORT=" + transport + " "](const std::string& line) {
    return line.starts_with(prefix) && line.find(" LINKS=") != std::string::npos &&
           line.find(" EVENT=") == std::string::npos;
  };
}

std::optional<std::uint64_t> number(const std::optional<itest::KeyValues>& fields, const std::string& key) {
  if (!fields) return std::nullopt;
  const auto found = fields->find(key);
  if (found == fields->end()) return std::nullopt;
  return std::stoull(found->second);
}

}  // namespace

void Tally::add(const Tally& other) {
  intact += other.intact;
  abandoned += other.abandoned;
  disrupted += other.disrupted;
  unexpected += other.unexpected;
  corrupt += other.corrupt;
  bytes += other.bytes;
}

World::World(std::string transport, const SoakConfig& config, int index)
    : transport_(std::move(transport)), config_(config), index_(index) {
  const char* names[] = {"bridge-s", "client-s", "bridge-k", "client-k"};
  for (int i = 0; i < 4; ++i) {
    peers_[i].name = names[i];
    peers_[i].bridge = i % 2 == 0;
    peers_[i].restartable = i >= 2;
  }
  for (int b = 0; b < 2; ++b)
    orports_[b] = std::make_unique<SoakOrPort>(ledger_, dir_ / ("cookie-" + std::to_string(b)));
}

World::~World() {
  stopping_ = true;
  cancel_ = true;
  for (auto& w : workers_) w.join();
}

std::uint64_t udp_receive_drops() {
  // Two "Udp:" lines: the field names, then the values.
  std::ifstream snmp("/proc/net/snmp");
  std::string names, values, line;
  while (std::getline(snmp, line)) {
    if (!line.starts_with("Udp: ")) continue;
    if (names.empty()) {
      names = line;
    } else {
      values = line;
      break;
    }
  }
  std::istringstream n(names), v(values);
  std::string name, value;
  while (n >> name && v >> value) {
    if (name == "RcvbufErrors") return std::strtoull(value.c_str(), nullptr, 10);
  }
  return 0;
}

void World::start() {
  epoch_ = Clock::now();
  udp_drops_at_start_ = udp_receive_drops();
  for (int i = 0; i < 4; ++i) spawn(i);
  const auto now = Clock::now();
  // The worlds' disruptions are staggered so that two transports are not disturbed at the same moment.
  next_event_ = now + config_.event_every / 2 + config_.event_every * index_ / 4;
  for (int i = 0; i < config_.links; ++i) workers_.emplace_back([this, i] { worker(i); });
}

void World::spawn(int index) {
  auto& peer = peers_[index];
  const std::vector<std::string> args{"--status-interval", "5"};
  if (peer.running.process) save_stdout(peer);
  ++peer.generation;
  if (peer.bridge) {
    auto& orport = *orports_[orport_of(index)];
    itest::ManagedServerOptions options;
    options.orport = 1;  // extended mode: hoplink must use the Extended ORPort, never this
    options.ext_orport = orport.port();
    options.cookie_file = orport.cookie_file();
    options.transports = transport_;
    // A restarted bridge comes back where its clients expect it, with the same key (same state dir).
    options.bindaddr = transport_ + "-127.0.0.1:" + std::to_string(ports_[index].load());
    // Every link of the soak comes from 127.0.0.1, thousands a minute: the per-prefix handshake rate (100 a
    // second by default, which guards a bridge against one network) is not what the soak is about.
    options.args = args;
    options.args.insert(options.args.end(), {"--handshake-rate-per-prefix", "0"});
    peer.running = itest::start_managed_server(dir_, options, peer.name);
    const auto& method = peer.running.method;
    if (ports_[index] == 0) {
      ports_[index] = method.address.port;
      bridge_args_[orport_of(index)] = method.args;
    } else if (method.address.port != ports_[index] || method.args != bridge_args_[orport_of(index)]) {
      note_finding(peer.name + " came back with another address or bridge-line args");
    }
  } else {
    peer.running = itest::start_managed_client(
        dir_, {.transports = transport_, .extra_env = {}, .args = args}, peer.name);
    ports_[index] = peer.running.method.address.port;
  }
  peer.down = false;
  peer.status_from = 0;
  peer.status.reset();
}

void World::kill(int index, Clock::time_point now) {
  auto& peer = peers_[index];
  // Open before the kill: a worker whose link dies of it must find it when it classifies the link.
  peer.disruption = open_disruption("killed " + peer.name, index, now);
  if (!peer.bridge) ports_[index] = 0;  // workers stop choosing it
  peer.running.process->send_signal(SIGKILL);
  peer.running.process->wait_exit(2s);
  peer.down = true;
  peer.restart_at = now + kRestartAfter;
}

void World::snapshot_at_findings() {
  std::size_t count;
  {
    std::lock_guard lock(mutex_);
    count = findings_.size();
  }
  for (; findings_snapshotted_ < count; ++findings_snapshotted_) {
    for (const auto& peer : peers_) {
      if (peer.down || !peer.running.process) continue;
      std::ofstream out(dir_ / (peer.name + "." + std::to_string(peer.generation) + ".finding-" +
                                std::to_string(findings_snapshotted_ + 1) + ".stdout"));
      for (const auto& line : peer.running.process->lines()) out << line << "\n";
    }
  }
}

void World::tick(Clock::time_point now) {
  snapshot_at_findings();
  for (int i = 0; i < 4; ++i) {
    auto& peer = peers_[i];
    if (peer.down) {
      if (now < peer.restart_at) continue;
      try {
        spawn(i);
        close_disruption(*peer.disruption, Clock::now());
        note(peer.name + " restarted");
      } catch (const std::exception& e) {
        note_finding(peer.name + " did not restart: " + e.what());
        peer.restart_at = now + kRestartAfter;
      }
    } else if (!peer.running.process->running()) {
      ++crashes_;
      std::cerr << "soak: " << transport_ << " " << peer.name << " died on its own\n"
                << peer.running.process->describe() << "\n";
      const auto status = peer.running.process->wait_exit(0ms);
      auto err = peer.running.process->stderr_text();
      if (err.size() > 600) err = "..." + err.substr(err.size() - 600);
      note_finding(peer.name + " died on its own (" + (status ? status->to_string() : "?") +
                   "); stderr: " + err);
      peer.down = true;
      peer.restart_at = now + kRestartAfter;
      peer.disruption = open_disruption(peer.name + " crashed", i, now);
    }
  }
  for (int b = 0; b < 2; ++b) {
    if (orport_away_[b] && now >= orport_back_at_[b]) {
      orports_[b]->come_back();
      close_disruption(*orport_away_[b], now);
      orport_away_[b].reset();
      note("tor of " + peers_[b * 2].name + " back");
    }
  }
  if (now >= next_event_) {
    begin_disruption(now);
    next_event_ += config_.event_every;
  }
}

// In turn: the restartable client killed, the stable bridge's tor away, the restartable bridge killed, the
// restartable bridge's tor away.
void World::begin_disruption(Clock::time_point now) {
  const int turn = event_turn_++ % 4;
  if (turn == 0 || turn == 2) {
    const int index = turn == 0 ? kClientKilled : kBridgeKilled;
    if (peers_[index].down) return;
    kill(index, now);
    note("killed " + peers_[index].name);
    return;
  }
  const int b = turn == 1 ? orport_of(kBridgeStable) : orport_of(kBridgeKilled);
  if (orport_away_[b]) return;
  orport_away_[b] = open_disruption("tor of " + peers_[b * 2].name + " away", b * 2, now);
  orports_[b]->go_away();
  orport_back_at_[b] = now + std::min<Clock::duration>(10s, config_.event_every / 2);
  note("tor of " + peers_[b * 2].name + " away");
}

std::size_t World::open_disruption(std::string what, int peer, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  disruptions_.push_back({std::move(what), peer, now, Clock::time_point::max()});
  return disruptions_.size() - 1;
}

void World::close_disruption(std::size_t id, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  disruptions_[id].end = now + kAfterglow;
}

bool World::disturbed(const LinkPlan& plan, Clock::time_point start, Clock::time_point end) const {
  std::lock_guard lock(mutex_);
  for (const auto& d : disruptions_) {
    if ((d.peer == plan.client || d.peer == plan.bridge) && d.start <= end && start <= d.end) return true;
  }
  return false;
}

void World::note(const std::string& event) {
  char when[32];
  std::snprintf(when, sizeof when, "%.1fs ", seconds_since_start(Clock::now()));
  std::lock_guard lock(mutex_);
  events_.push_back(when + event);
}

double World::seconds_since_start(Clock::time_point t) const {
  return std::chrono::duration<double>(t - epoch_).count();
}

void World::save_stdout(const Peer& peer) {
  std::ofstream out(dir_ / (peer.name + "." + std::to_string(peer.generation) + ".stdout"));
  for (const auto& line : peer.running.process->lines()) out << line << "\n";
}

void World::note_finding(const std::string& finding) {
  std::lock_guard lock(mutex_);
  if (findings_.size() < kMaxFindings) findings_.push_back(finding);
}

void World::finish_links(Clock::time_point deadline) {
  stopping_ = true;
  while (busy_ > 0 && Clock::now() < deadline) std::this_thread::sleep_for(100ms);
  cancel_ = true;
  for (auto& w : workers_) w.join();
  workers_.clear();
}

void World::restore() {
  next_event_ = Clock::time_point::max();
  for (int i = 0; i < 4; ++i) {
    if (!peers_[i].down) continue;
    peers_[i].restart_at = Clock::now();
    tick(Clock::now());
  }
  for (int b = 0; b < 2; ++b) orport_back_at_[b] = Clock::now();
  tick(Clock::now());
}

bool World::terminate() {
  bool clean = true;
  for (auto& peer : peers_) {
    if (peer.down) continue;
    auto& process = *peer.running.process;
    process.send_signal(SIGTERM);
    const auto status = process.wait_exit(5s);
    save_stdout(peer);
    if (!status || !status->exited() || status->code != 0) {
      ++crashes_;
      clean = false;
      note_finding(peer.name + " did not exit cleanly on SIGTERM: " +
                   (status ? status->to_string() : std::string("still running after 5 s")));
    }
  }
  return clean;
}

void World::refresh_status(Peer& peer) {
  const auto& process = *peer.running.process;
  const auto is_status = periodic_status(transport_);
  std::optional<std::size_t> last;
  // At most one pass over the lines that came since the last sample.
  for (std::size_t turns = 0; turns < 1'000'000; ++turns) {
    const auto index = process.wait_for_line(is_status, 0ms, peer.status_from);
    if (!index) break;
    last = index;
    peer.status_from = *index + 1;
  }
  if (!last) return;
  if (const auto text = process.wait_for_line_text(is_status, 0ms, *last)) {
    peer.status = itest::parse_status(*text);
  }
}

std::vector<ProcessSample> World::sample() {
  std::vector<ProcessSample> samples;
  for (int i : {kBridgeStable, kClientStable, kBridgeKilled, kClientKilled}) {
    auto& peer = peers_[i];
    ProcessSample s;
    s.name = peer.name;
    s.up = !peer.down && peer.running.process->running();
    if (s.up) {
      s.pid = peer.running.process->pid();
      std::tie(s.rss, s.hwm) = memory_of(s.pid);
      s.fds = itest::open_fd_count(s.pid);
      refresh_status(peer);
      s.links = number(peer.status, "LINKS");
      s.peers = number(peer.status, "PEERS");
    }
    samples.push_back(s);
  }
  return samples;
}

Tally World::take_period() {
  std::uint64_t damaged = 0;
  for (const auto& orport : orports_) damaged += orport->bad_headers() + orport->trailing_bytes();
  std::lock_guard lock(mutex_);
  Tally period = period_;
  period_ = {};
  // Damage the ORPort saw outside any one link's result.
  period.corrupt += damaged - orport_damage_;
  total_.corrupt += damaged - orport_damage_;
  orport_damage_ = damaged;
  return period;
}

Tally World::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

std::vector<std::string> World::take_events() {
  std::lock_guard lock(mutex_);
  return std::exchange(events_, {});
}

std::vector<std::string> World::findings() const {
  std::lock_guard lock(mutex_);
  return findings_;
}

}  // namespace hoplink::soak
