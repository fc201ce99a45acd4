// hoplink_soak: bridges and clients (the real hoplink binary, managed as tor runs it) carrying links that
// open and close all the time for a given time, with processes killed and restarted and tor's Extended
// ORPort going away and coming back; every link's bytes checked both ways; memory, descriptors and link
// counts sampled. Prints a table and a verdict; exits 0 on pass, 1 on fail, 2 on bad usage.
//
//   hoplink_soak [MINUTES] [--seconds N] [--links N] [--transports sctp,dtls] [--event-every S]
//                [--sample-every S] [--max-link-bytes B] [--seed N]
//
// Network only on 127.0.0.1. Pass: no process died on its own or failed to exit cleanly, no link carried a
// wrong byte, no link failed while nothing was being disturbed, every link was closed once the links
// stopped, and (with six samples or more) the stable processes' RSS and descriptors did not grow after
// warm-up (see Report::growth).
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string_view>

#include "report.hpp"
#include "world.hpp"

using namespace hoplink::soak;
using namespace std::chrono_literals;

namespace {

constexpr auto kDrainTime = 60s;    // at the end, links in flight get this long to finish
constexpr auto kQuiesceTime = 45s;  // then every process must count no open link within this

std::uint64_t parse_number(std::string_view text, const char* what) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    std::cerr << "hoplink_soak: " << what << " wants a number, not '" << text << "'\n";
    std::exit(2);
  }
  return value;
}

SoakConfig parse(int argc, char** argv) {
  SoakConfig config;
  config.duration = 60min;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) {
        std::cerr << "hoplink_soak: " << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--seconds") {
      config.duration = std::chrono::seconds(parse_number(value(), "--seconds"));
    } else if (arg == "--links") {
      config.links = static_cast<int>(parse_number(value(), "--links"));
    } else if (arg == "--transports") {
      config.transports.clear();
      std::string_view list = value();
      for (std::size_t n = 0; !list.empty() && n < 8; ++n) {
        config.transports.emplace_back(list.substr(0, list.find(',')));
        list.remove_prefix(std::min(list.size(), config.transports.back().size() + 1));
      }
    } else if (arg == "--event-every") {
      config.event_every = std::chrono::seconds(parse_number(value(), "--event-every"));
    } else if (arg == "--sample-every") {
      config.sample_every = std::chrono::seconds(parse_number(value(), "--sample-every"));
    } else if (arg == "--max-link-bytes") {
      config.max_link_bytes = parse_number(value(), "--max-link-bytes");
    } else if (arg == "--seed") {
      config.seed = parse_number(value(), "--seed");
    } else if (!arg.starts_with("-")) {
      config.duration = std::chrono::minutes(parse_number(arg, "MINUTES"));
    } else {
      std::cerr << "hoplink_soak: unknown option " << arg << "\n";
      std::exit(2);
    }
  }
  for (const auto& t : config.transports) {
    if (t != "sctp" && t != "dtls") {
      std::cerr << "hoplink_soak: unknown transport " << t << "\n";
      std::exit(2);
    }
  }
  if (config.duration.count() == 0 || config.links == 0 || config.event_every.count() == 0 ||
      config.sample_every.count() == 0) {
    std::cerr << "hoplink_soak: durations and --links must be positive\n";
    std::exit(2);
  }
  return config;
}

std::string label(Clock::duration since_start, std::chrono::seconds sample_every) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(since_start).count();
  if (sample_every % 60s == 0s) return std::to_string((s + 30) / 60);
  return std::to_string(s) + "s";
}

void print_rows(Report& report, std::vector<std::unique_ptr<World>>& worlds, const std::string& row_label) {
  for (auto& world : worlds)
    report.row(row_label, *world, world->sample(), world->take_period(), world->take_events());
}

}  // namespace

int main(int argc, char** argv) {
  const auto config = parse(argc, argv);
  std::cout << "hoplink soak: " << config.duration.count() << " s, " << config.links
            << " links at once per transport, a disruption every " << config.event_every.count()
            << " s per transport, links up to " << config.max_link_bytes << " B each way, "
            << config.abandon_share * 100 << "% abandoned\n";
  std::vector<std::unique_ptr<World>> worlds;
  for (std::size_t i = 0; i < config.transports.size(); ++i) {
    worlds.push_back(std::make_unique<World>(config.transports[i], config, static_cast<int>(i)));
    worlds.back()->start();
    std::cout << config.transports[i] << ": processes and logs in " << worlds.back()->where() << "\n";
  }
  Report report(std::cout);
  report.header();

  const auto start = Clock::now();
  const auto end = start + config.duration;
  const auto udp_drops_start = udp_receive_drops();
  auto next_sample = start + config.sample_every;
  // Bounded by `end`: each turn sleeps 200 ms and tick() waits at most for a restart (seconds).
  while (Clock::now() < end) {
    std::this_thread::sleep_for(200ms);
    const auto now = Clock::now();
    for (auto& world : worlds) world->tick(now);
    if (now >= next_sample) {
      print_rows(report, worlds, label(now - start, config.sample_every));
      next_sample += config.sample_every;
    }
  }

  for (auto& world : worlds) world->stop_new_links();
  const auto drained = Clock::now() + kDrainTime;
  for (auto& world : worlds) world->finish_links(drained);
  for (auto& world : worlds) world->restore();
  // Every link has ended on our side: every process must get back to no open link.
  const auto quiesce_end = Clock::now() + kQuiesceTime;
  std::vector<std::vector<ProcessSample>> last(worlds.size());
  while (Clock::now() < quiesce_end) {
    std::this_thread::sleep_for(1s);
    bool all_closed = true;
    for (std::size_t i = 0; i < worlds.size(); ++i) {
      last[i] = worlds[i]->sample();
      for (const auto& s : last[i]) all_closed = all_closed && s.up && s.links && *s.links == 0;
    }
    if (all_closed) break;
  }
  for (std::size_t i = 0; i < worlds.size(); ++i) {
    report.row("end", *worlds[i], last[i], worlds[i]->take_period(), worlds[i]->take_events());
    report.last_samples(*worlds[i], last[i]);
  }
  bool clean_exit = true;
  for (auto& world : worlds) clean_exit = world->terminate() && clean_exit;

  std::cout << "\nTotals:\n";
  // Datagrams the kernel dropped at a full socket buffer (any socket of the machine): losses the links had to
  // recover from, which a starved machine makes.
  std::cout << "  kernel UDP receive-buffer drops during the run: " << udp_receive_drops() - udp_drops_start
            << "\n";
  bool pass = clean_exit;
  for (auto& world : worlds) {
    const auto t = world->total();
    std::cout << "  " << world->transport() << ": " << t.intact << " links intact, " << t.abandoned
              << " abandoned as planned, " << t.disrupted << " failed under a disruption, " << t.unexpected
              << " failed with nothing disturbed, " << t.corrupt << " corrupt; "
              << static_cast<double>(t.bytes) / 1e9 << " GB checked; " << world->crashes()
              << " crashes or unclean exits\n";
    for (const auto& f : world->findings()) std::cout << "    " << f << "\n";
    pass = pass && t.corrupt == 0 && t.unexpected == 0 && world->crashes() == 0 && t.intact > 0;
  }
  for (const auto& l : report.lingering()) {
    std::cout << "  links still open after every link ended: " << l << "\n";
    pass = false;
  }
  if (report.growth_judged()) {
    for (const auto& g : report.growth()) {
      std::cout << "  grew after warm-up: " << g << "\n";
      pass = false;
    }
  } else {
    std::cout << "  growth not judged: fewer than six samples\n";
  }
  if (!pass) {
    for (auto& world : worlds) {
      world->snapshot_at_findings();
      world->keep_files();
    }
  }
  std::cout << "verdict: " << (pass ? "PASS" : "FAIL") << "\n";
  return pass ? 0 : 1;
}
