// Runs every fuzz harness over its committed seed corpus and over deterministic pseudo-random inputs, so
// the invariants are checked in every build, not only in clang fuzz builds.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "fuzz_harness.hpp"

namespace {

using Harness = int (*)(const std::uint8_t*, std::size_t);

std::vector<std::vector<std::uint8_t>> load_corpus(const std::string& name) {
  std::vector<std::vector<std::uint8_t>> seeds;
  const auto directory = std::filesystem::path(HOPLINK_FUZZ_CORPUS_DIR) / name;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return seeds;
}

// xorshift64*: the same sequence on every run and every platform.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }
  std::size_t below(std::size_t bound) { return static_cast<std::size_t>(next() % bound); }

 private:
  std::uint64_t state_;
};

// Random bytes, or a seed with a few bytes changed, inserted, or cut off.
std::vector<std::uint8_t> make_input(Random& random, const std::vector<std::vector<std::uint8_t>>& seeds) {
  if (seeds.empty() || random.below(4) == 0) {
    std::vector<std::uint8_t> input(random.below(300));
    for (auto& byte : input) byte = static_cast<std::uint8_t>(random.next());
    return input;
  }
  auto input = seeds[random.below(seeds.size())];
  const auto edits = 1 + random.below(4);
  for (std::size_t i = 0; i < edits; ++i) {
    switch (random.below(4)) {
      case 0:
        if (!input.empty()) input[random.below(input.size())] = static_cast<std::uint8_t>(random.next());
        break;
      case 1:
        if (!input.empty())
          input[random.below(input.size())] ^= static_cast<std::uint8_t>(1u << random.below(8));
        break;
      case 2:
        input.insert(input.begin() + static_cast<std::ptrdiff_t>(random.below(input.size() + 1)),
                     static_cast<std::uint8_t>(random.next()));
        break;
      default:
        input.resize(random.below(input.size() + 1));
        break;
    }
  }
  return input;
}

// `mutations`: how many altered inputs follow the seeds (fewer for the targets that run a whole transport
// per input).
void replay(const std::string& name, Harness harness, int mutations = 4000) {
  const auto seeds = load_corpus(name);
  REQUIRE(seeds.size() >= 3);
  for (const auto& seed : seeds) CHECK(harness(seed.data(), seed.size()) == 0);
  CHECK(harness(nullptr, 0) == 0);
  Random random(0x9e3779b97f4a7c15ULL ^ std::hash<std::string>{}(name));
  for (int i = 0; i < mutations; ++i) {
    const auto input = make_input(random, seeds);
    REQUIRE(harness(input.data(), input.size()) == 0);
  }
}

}  // namespace

TEST_CASE("fuzz replay: socks5") {
  replay("socks5", hoplink::fuzz::fuzz_socks5);
}
TEST_CASE("fuzz replay: socks5_udp") {
  replay("socks5_udp", hoplink::fuzz::fuzz_socks5_udp);
}
TEST_CASE("fuzz replay: ext_or") {
  replay("ext_or", hoplink::fuzz::fuzz_ext_or);
}
TEST_CASE("fuzz replay: environment") {
  replay("environment", hoplink::fuzz::fuzz_environment);
}
TEST_CASE("fuzz replay: args") {
  replay("args", hoplink::fuzz::fuzz_args);
}
TEST_CASE("fuzz replay: messages") {
  replay("messages", hoplink::fuzz::fuzz_messages);
}
#if HOPLINK_FUZZ_TRANSPORT
TEST_CASE("fuzz replay: config_file") {
  replay("config_file", hoplink::fuzz::fuzz_config_file);
}
TEST_CASE("fuzz replay: transport_options") {
  replay("transport_options", hoplink::fuzz::fuzz_transport_options);
}
TEST_CASE("fuzz replay: bridge_line") {
  replay("bridge_line", hoplink::fuzz::fuzz_bridge_line);
}
// These two share the process's one sctp::Stack, which sctp_packet's harness would also want: ctest runs
// each test case in a process of its own.
TEST_CASE("fuzz replay: sctp_transport") {
  replay("sctp_transport", hoplink::fuzz::fuzz_sctp_transport, 400);
}
TEST_CASE("fuzz replay: dtls_transport") {
  replay("dtls_transport", hoplink::fuzz::fuzz_dtls_transport, 400);
}
#endif
#if HOPLINK_FUZZ_SCTP
TEST_CASE("fuzz replay: sctp_packet") {
  replay("sctp_packet", hoplink::fuzz::fuzz_sctp_packet);
}
#endif
#if HOPLINK_FUZZ_DPDK
TEST_CASE("fuzz replay: dpdk_frame") {
  replay("dpdk_frame", hoplink::fuzz::fuzz_dpdk_frame);
}
#endif
#if HOPLINK_FUZZ_DTLS
TEST_CASE("fuzz replay: dtls_datagram") {
  replay("dtls_datagram", hoplink::fuzz::fuzz_dtls_datagram);
}
#endif
