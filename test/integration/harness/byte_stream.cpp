#include "byte_stream.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <vector>

namespace hoplink::itest {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr std::array<std::uint8_t, 8> kMagic{'H', 'L', 'P', 'U', 'M', 'P', '0', '1'};

void put_u64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}
std::uint64_t get_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

void fill_stream(std::uint64_t seed, std::uint64_t offset, std::span<std::uint8_t> out) {
  std::size_t i = 0;
  std::uint64_t word_index = offset / 8;
  std::size_t skip = offset % 8;
  while (i < out.size()) {
    std::uint64_t w = splitmix64(seed * 0x2545f4914f6cdd1dull + word_index++);
    std::uint8_t bytes[8];
    std::memcpy(bytes, &w, 8);
    std::size_t n = std::min<std::size_t>(8 - skip, out.size() - i);
    std::memcpy(out.data() + i, bytes + skip, n);
    i += n;
    skip = 0;
  }
}

std::string PumpResult::summary() const {
  std::ostringstream out;
  out << (ok ? "ok" : "FAILED: " + error) << "; sent " << sent << " B, received " << received << " B in "
      << seconds << " s";
  if (mismatch_at) out << "; first wrong byte at offset " << *mismatch_at;
  return out.str();
}

PumpResult duplex_pump(int fd, StreamSpec send, StreamSpec expect, Deadline deadline,
                       const std::atomic<bool>* cancel, bool half_close) {
  constexpr std::size_t kChunk = 64 * 1024;
  PumpResult r;
  auto start = Clock::now();
  std::vector<std::uint8_t> out(kChunk), in(kChunk), want(kChunk);
  std::size_t out_len = 0, out_pos = 0;  // pending part of `out`
  auto finish = [&](std::string error) {
    r.ok = error.empty();
    r.error = std::move(error);
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return r;
  };
  bool shut_down = false;
  while (r.sent < send.length || r.received < expect.length) {
    if (cancel && cancel->load()) return finish("cancelled");
    if (half_close && !shut_down && r.sent == send.length) {
      shut_down = true;
      if (::shutdown(fd, SHUT_WR) != 0) return finish(std::string("shutdown: ") + std::strerror(errno));
    }
    if (out_pos == out_len && r.sent < send.length) {
      out_len = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, send.length - r.sent));
      fill_stream(send.seed, r.sent, std::span(out.data(), out_len));
      out_pos = 0;
    }
    short events = 0;
    if (r.received < expect.length) events |= POLLIN;
    if (out_pos < out_len) events |= POLLOUT;
    pollfd p{fd, events, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return finish("deadline passed");
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100)));
    if (n < 0 && errno != EINTR) return finish(std::string("poll: ") + std::strerror(errno));
    if (n <= 0) continue;
    if (p.revents & POLLIN || (p.revents & (POLLHUP | POLLERR) && events & POLLIN)) {
      std::size_t max = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, expect.length - r.received));
      ssize_t got = ::recv(fd, in.data(), max, MSG_DONTWAIT);
      if (got == 0) return finish("peer closed the connection early");
      if (got < 0 && errno != EAGAIN && errno != EINTR)
        return finish(std::string("recv: ") + std::strerror(errno));
      if (got > 0) {
        auto len = static_cast<std::size_t>(got);
        fill_stream(expect.seed, r.received, std::span(want.data(), len));
        if (std::memcmp(in.data(), want.data(), len) != 0) {
          std::size_t k = 0;
          while (in[k] == want[k]) ++k;
          r.mismatch_at = r.received + k;
          r.received += k;
          return finish("received bytes differ from the expected stream");
        }
        r.received += len;
      }
    }
    if (p.revents & POLLOUT || (p.revents & (POLLHUP | POLLERR) && events & POLLOUT)) {
      ssize_t put = ::send(fd, out.data() + out_pos, out_len - out_pos, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (put < 0 && errno != EAGAIN && errno != EINTR)
        return finish(std::string("send: ") + std::strerror(errno));
      if (put > 0) {
        out_pos += static_cast<std::size_t>(put);
        r.sent += static_cast<std::uint64_t>(put);
      }
    }
  }
  if (half_close && !shut_down && ::shutdown(fd, SHUT_WR) != 0)
    return finish(std::string("shutdown: ") + std::strerror(errno));
  return finish("");
}

std::array<std::uint8_t, 32> PumpHeader::serialize() const {
  std::array<std::uint8_t, 32> out{};
  std::memcpy(out.data(), kMagic.data(), 8);
  put_u64(out.data() + 8, seed);
  put_u64(out.data() + 16, up);
  put_u64(out.data() + 24, down);
  return out;
}

std::optional<PumpHeader> PumpHeader::parse(std::span<const std::uint8_t, 32> bytes) {
  if (std::memcmp(bytes.data(), kMagic.data(), 8) != 0) return std::nullopt;
  return PumpHeader{get_u64(bytes.data() + 8), get_u64(bytes.data() + 16), get_u64(bytes.data() + 24)};
}

}  // namespace hoplink::itest
