#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <typeinfo>
#include <vector>

#include "app/options.hpp"
#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"

namespace hoplink::fuzz {
namespace {

using transport::Mode;
using transport::Options;
using transport::OptionsError;

// The --config file is read by path; an anonymous memory file named through /proc/self/fd gives the parser
// the input as a file without touching the disk. Created once: libFuzzer runs millions of inputs per process.
class ConfigFile {
 public:
  ConfigFile() : fd_(::memfd_create("hoplink-fuzz-config", MFD_CLOEXEC)) {
    FUZZ_CHECK(fd_ >= 0);
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }

  const std::string& write(const std::uint8_t* data, std::size_t size) {
    FUZZ_CHECK(::ftruncate(fd_, 0) == 0);
    std::size_t done = 0;
    while (done < size) {
      const auto written = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      FUZZ_CHECK(written > 0);
      done += static_cast<std::size_t>(written);
    }
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

// What parse_options promises for every option it accepts: each value within the range --help states, and
// the relations between them (rto-min <= rto-initial <= rto-max, max-window 0 or at least both buffers).
void check_in_range(const Options& options) {
  const auto& link = options.link;
  const auto& a = link.association;
  FUZZ_CHECK(a.mtu >= 576 && a.mtu <= 9000);
  FUZZ_CHECK(a.send_buffer >= 16 * 1024 && a.send_buffer <= 256u * 1024 * 1024);
  FUZZ_CHECK(a.receive_buffer >= 16 * 1024 && a.receive_buffer <= 256u * 1024 * 1024);
  FUZZ_CHECK(a.max_window == 0 || (a.max_window >= a.send_buffer && a.max_window >= a.receive_buffer &&
                                   a.max_window <= 256u << 20));
  FUZZ_CHECK(a.heartbeat_interval.count() >= 100 && a.dead_peer_timeout.count() >= 500);
  FUZZ_CHECK(link.connect_timeout.count() >= 100 && link.handshake_timeout.count() >= 100);
  FUZZ_CHECK(link.max_links >= 1 && link.max_links <= 1'000'000);
  const auto& s = options.stack;
  FUZZ_CHECK(s.rto_min.count() >= 10 && s.rto_min <= s.rto_initial && s.rto_initial <= s.rto_max);
  FUZZ_CHECK(s.rto_max.count() <= 600'000);
  FUZZ_CHECK(s.sack_frequency >= 1 && s.sack_frequency <= 64);
  FUZZ_CHECK(s.initial_cwnd_mtus >= 1 && s.initial_cwnd_mtus <= 1000);
  FUZZ_CHECK(options.status_interval.count() >= 0 && options.status_interval.count() <= 86400);
  FUZZ_CHECK(options.transports.max_peers >= 1);
  FUZZ_CHECK(options.transports.dtls.max_half_open >= 1);
  FUZZ_CHECK(options.datagrams.backend != transport::IoBackend::memory);
  if (options.mode == Mode::server && !options.help && !options.version) {
    FUZZ_CHECK(options.orport.has_value() != options.ext_orport.has_value());
  }
}

}  // namespace

int fuzz_config_file(const std::uint8_t* data, std::size_t size) {
  static ConfigFile file;
  // data[0] picks the mode word on the command line, so that the mode checks run on what the file set.
  const std::uint8_t mode = size > 0 ? data[0] % 4 : 0;
  const std::string& path = size > 0 ? file.write(data + 1, size - 1) : file.write(data, 0);
  std::vector<const char*> argv{"hoplink"};
  if (mode == 1) argv.push_back("client");
  if (mode == 2) argv.push_back("server");
  if (mode == 3) argv.push_back("managed");
  argv.push_back("--config");
  argv.push_back(path.c_str());

  // Start-up configuration: a bad file is an OptionsError with a message for the operator, and nothing else
  // may escape (a Boost exception, a std::out_of_range from a conversion).
  try {
    const Options options = transport::parse_options(static_cast<int>(argv.size()), argv.data());
    check_in_range(options);
  } catch (const OptionsError& e) {
    FUZZ_CHECK(e.what()[0] != '\0');
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parse_options threw a %s: %s\n", typeid(e).name(), e.what());
    FUZZ_CHECK(!"only OptionsError may escape parse_options");
  }
  return 0;
}

}  // namespace hoplink::fuzz
