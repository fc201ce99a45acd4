// One transport's share of the soak: two bridges and two clients (real hoplink processes in managed mode),
// a fake Extended ORPort per bridge, and the workers that keep links opening and closing through them.
//
// One bridge and one client are never disturbed: they live for the whole run and are the ones whose
// memory and descriptors must stay flat. The other two are killed (SIGKILL) and restarted, and each
// ORPort goes away and comes back, in turn, so the stable processes keep seeing peers and tor vanish.
//
// Processes are spawned, signalled and sampled from the main thread only (a child is killed when the thread
// that spawned it ends); workers read nothing of them but the ports published in atomics.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hoplink.hpp"
#include "ledger.hpp"
#include "orport.hpp"
#include "temp_dir.hpp"

namespace hoplink::soak {

struct SoakConfig {
  std::chrono::seconds duration{3600};
  std::vector<std::string> transports{"sctp", "dtls"};
  int links = 50;                                  // links in flight per transport
  std::chrono::seconds event_every{30};            // one disruption per transport this often
  std::chrono::seconds sample_every{60};           // one table row per transport this often
  std::uint64_t max_link_bytes = 4 * 1024 * 1024;  // each way
  double abandon_share = 0.1;
  std::uint64_t seed = 1;
};

// How the links that ended in a period went.
struct Tally {
  std::uint64_t intact = 0;      // every byte both ways checked
  std::uint64_t abandoned = 0;   // ended early on purpose; the other side saw it end, what arrived was right
  std::uint64_t disrupted = 0;   // failed while one of its processes or its tor was being disturbed
  std::uint64_t unexpected = 0;  // failed with nothing disturbed: a finding
  std::uint64_t corrupt = 0;     // a wrong byte, a wrong header or bytes after the stream: a finding
  std::uint64_t bytes = 0;       // checked bytes, both ways
  void add(const Tally& other);
};

struct ProcessSample {
  std::string name;
  bool up = false;
  pid_t pid = 0;
  std::uint64_t rss = 0;  // VmRSS, bytes
  std::uint64_t hwm = 0;  // VmHWM, bytes
  int fds = -1;
  std::optional<std::uint64_t> links;  // from the latest periodic STATUS line
  std::optional<std::uint64_t> peers;
};

// The kernel's count of UDP datagrams dropped for a full socket receive buffer (/proc/net/snmp,
// RcvbufErrors), all sockets of the machine; 0 when unreadable.
std::uint64_t udp_receive_drops();

class World {
 public:
  World(std::string transport, const SoakConfig& config, int index);
  ~World();

  const std::string& transport() const { return transport_; }
  std::string where() const { return dir_.path().string(); }
  // Main thread. Starts the processes and the workers.
  void start();
  // Main thread, a few times a second: notices crashes and drives the disruptions.
  void tick(Clock::time_point now);
  // Main thread, at the end: no new links (every world first), then links in flight get until `deadline`,
  // and are cancelled.
  void stop_new_links() { stopping_ = true; }
  void finish_links(Clock::time_point deadline);
  // Main thread: everything killed or away comes back, so the end state can be checked.
  void restore();
  // Main thread: SIGTERM to every process; false (and a crash noted) if one does not exit cleanly.
  bool terminate();

  std::vector<ProcessSample> sample();
  // The stable processes (what the leak verdict looks at) come first in sample().
  static constexpr int kStable = 2;
  Tally take_period();
  Tally total() const;
  std::vector<std::string> take_events();
  std::vector<std::string> findings() const;
  // A failed run keeps its folder: every process's output, and the snapshots taken at each finding.
  void keep_files() { dir_.keep(); }
  // Main thread: each process's stdout as it is when a finding was noted
  // (<name>.<generation>.finding-K.stdout), so that its LOG lines about the failed link are the last ones in
  // the file.
  void snapshot_at_findings();
  std::uint64_t crashes() const { return crashes_; }

 private:
  struct Peer {
    std::string name;
    bool bridge = false;
    bool restartable = false;
    itest::Running running;
    bool down = false;  // killed on purpose and not restarted yet
    Clock::time_point restart_at{};
    std::size_t status_from = 0;  // stdout lines already searched for the latest STATUS
    std::optional<itest::KeyValues> status;
    std::optional<std::size_t> disruption;  // open while it is down
    int generation = 0;                     // how many times it was started
  };
  struct Disruption {
    std::string what;
    int peer = -1;  // the process, or the bridge whose tor is away
    Clock::time_point start{};
    Clock::time_point end = Clock::time_point::max();
  };

  void spawn(int index);
  void kill(int index, Clock::time_point now);
  void begin_disruption(Clock::time_point now);
  std::size_t open_disruption(std::string what, int peer, Clock::time_point now);
  void close_disruption(std::size_t id, Clock::time_point now);
  void note(const std::string& event);
  void note_finding(const std::string& finding);
  void refresh_status(Peer& peer);
  // Keeps a process's stdout (its LOG and STATUS lines) in the run's folder: <name>.<generation>.stdout.
  void save_stdout(const Peer& peer);
  double seconds_since_start(Clock::time_point t) const;

  // links.cpp: the workers.
  void worker(int index);
  bool run_link(LinkPlan plan);  // whether it ended as planned
  bool disturbed(const LinkPlan& plan, Clock::time_point start, Clock::time_point end) const;
  void record(const Tally& tally);

  std::string transport_;
  SoakConfig config_;
  int index_;
  itest::TempDir dir_;
  Ledger ledger_;
  std::array<std::unique_ptr<SoakOrPort>, 2> orports_;  // of bridge 0 (stable) and bridge 1
  std::array<Peer, 4> peers_;                           // bridge-s, client-s, bridge-k, client-k
  std::array<std::atomic<std::uint16_t>, 4> ports_{};   // bridges: UDP port; clients: SOCKS port (0: down)
  std::array<itest::KeyValues, 2> bridge_args_;         // the bridge line's args (dtls: fp=)
  std::array<std::optional<std::size_t>, 2> orport_away_;
  Clock::time_point orport_back_at_[2]{};

  Clock::time_point epoch_{};  // when start() was called
  Clock::time_point next_event_{};
  int event_turn_ = 0;
  std::uint64_t crashes_ = 0;

  mutable std::mutex mutex_;  // guards what workers and the main thread share below
  std::vector<Disruption> disruptions_;
  Tally period_, total_;
  std::vector<std::string> events_;
  std::vector<std::string> findings_;
  std::size_t findings_snapshotted_ = 0;  // main thread
  std::uint64_t udp_drops_at_start_ = 0;
  std::uint64_t orport_damage_ = 0;  // bad headers and trailing bytes already counted
  std::uint64_t next_seed_ = 1;

  std::atomic<bool> stopping_{false};  // no new links
  std::atomic<bool> cancel_{false};    // links in flight give up
  std::vector<std::thread> workers_;
  std::atomic<int> busy_{0};
};

}  // namespace hoplink::soak
