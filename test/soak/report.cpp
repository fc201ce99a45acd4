#include "report.hpp"

#include <cstdio>
#include <numeric>

namespace hoplink::soak {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
// No growth: the last third's mean within 10% (plus a little, for small numbers) of the second third's.
constexpr double kRelativeMargin = 0.10;
constexpr double kRssSlackMiB = 2;
constexpr double kFdSlack = 8;
constexpr std::size_t kMinSamples = 6;

std::string format(const char* fmt, auto... args) {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, fmt, args...);
  return buffer;
}

std::string figures(const ProcessSample& s, bool full) {
  if (!s.up) return full ? format("%-27s", "down") : format("%-15s", "down");
  const auto field = [](const std::optional<std::uint64_t>& v) {
    return v ? std::to_string(*v) : std::string("-");
  };
  if (!full) return format("%5.1f %4d %4s", s.rss / kMiB, s.fds, field(s.links).c_str());
  return format("%5.1f %5.1f %4d %4s %5s", s.rss / kMiB, s.hwm / kMiB, s.fds, field(s.links).c_str(),
                field(s.peers).c_str());
}

double mean(const std::vector<double>& v, std::size_t from, std::size_t to) {
  return std::accumulate(v.begin() + static_cast<std::ptrdiff_t>(from),
                         v.begin() + static_cast<std::ptrdiff_t>(to), 0.0) /
         static_cast<double>(to - from);
}

}  // namespace

void Report::header() {
  out_ << "Per sample and transport: the stable bridge and client (RSS and high-water mark in MiB, open\n"
          "descriptors, LINKS and PEERS from their latest STATUS), the restarted bridge and client (RSS, "
          "fds,\n"
          "LINKS), then the links that ended since the last row: intact, abandoned on purpose, failed under "
          "a\n"
          "disruption, failed with nothing disturbed, corrupt; MB checked; what was done to the processes.\n";
  const auto full = format("%5s %5s %4s %4s %5s", "rss", "hwm", "fds", "link", "peer");
  const auto brief = format("%5s %4s %4s", "rss", "fds", "link");
  out_ << format("%-9s | %-27s | %-27s | %-15s | %-15s | %s\n", "", "bridge-s (stable)", "client-s (stable)",
                 "bridge-k", "client-k", "links ended since the last row");
  out_ << format("%-4s %-4s | %s | %s | %s | %s | %6s %5s %5s %5s %4s %7s | %s\n", "min", "tr", full.c_str(),
                 full.c_str(), brief.c_str(), brief.c_str(), "intact", "aband", "disr", "unexp", "corr", "MB",
                 "events");
  out_.flush();
}

void Report::row(const std::string& label, const World& world, const std::vector<ProcessSample>& samples,
                 const Tally& period, const std::vector<std::string>& events) {
  std::string what;
  for (const auto& e : events) what += (what.empty() ? "" : "; ") + e;
  out_ << format("%-4s %-4s | %s | %s | %s | %s | %6llu %5llu %5llu %5llu %4llu %7.1f | ", label.c_str(),
                 world.transport().c_str(), figures(samples[0], true).c_str(),
                 figures(samples[1], true).c_str(), figures(samples[2], false).c_str(),
                 figures(samples[3], false).c_str(), static_cast<unsigned long long>(period.intact),
                 static_cast<unsigned long long>(period.abandoned),
                 static_cast<unsigned long long>(period.disrupted),
                 static_cast<unsigned long long>(period.unexpected),
                 static_cast<unsigned long long>(period.corrupt), static_cast<double>(period.bytes) / 1e6)
       << what << "\n";
  out_.flush();
  if (label == "end") return;  // quiesced: not part of the series under load
  for (int i = 0; i < World::kStable; ++i) {
    const auto& s = samples[static_cast<std::size_t>(i)];
    if (!s.up) continue;
    auto& series = series_[world.transport() + " " + s.name];
    series.rss.push_back(static_cast<double>(s.rss) / kMiB);
    series.fds.push_back(s.fds);
  }
}

void Report::last_samples(const World& world, const std::vector<ProcessSample>& samples) {
  for (const auto& s : samples) {
    if (s.up && s.links.value_or(0) != 0)
      lingering_.push_back(world.transport() + " " + s.name + ": LINKS=" + std::to_string(*s.links));
  }
}

bool Report::growth_judged() const {
  for (const auto& [name, series] : series_) {
    if (series.rss.size() < kMinSamples) return false;
  }
  return !series_.empty();
}

std::vector<std::string> Report::growth() const {
  std::vector<std::string> grew;
  for (const auto& [name, series] : series_) {
    const auto n = series.rss.size();
    if (n < kMinSamples) continue;
    const auto check = [&](const char* what, const std::vector<double>& v, double slack) {
      const double second = mean(v, n / 3, 2 * n / 3), last = mean(v, 2 * n / 3, n);
      if (last > second * (1 + kRelativeMargin) + slack)
        grew.push_back(
            format("%s %s: %.1f in the second third, %.1f in the last", name.c_str(), what, second, last));
    };
    check("RSS MiB", series.rss, kRssSlackMiB);
    check("fds", series.fds, kFdSlack);
  }
  return grew;
}

}  // namespace hoplink::soak
