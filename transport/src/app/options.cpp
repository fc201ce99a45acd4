#include "app/options.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "app/dpdk_options.hpp"
#include "transports/transport_registry.hpp"

namespace hoplink::transport {

namespace po = boost::program_options;

namespace {

constexpr const char* kUsage =
    "Usage:\n"
    "  hoplink                       managed mode: launched by tor (ClientTransportPlugin /\n"
    "                                ServerTransportPlugin), configured by TOR_PT_* variables\n"
    "  hoplink client [options]      TCP in, links out: a SOCKS5 server, or a forwarder with --remote\n"
    "  hoplink server [options]      links in, TCP out to --orport or --ext-orport\n";

// "Transports:" and one line per entry of the registry.
std::string transports_text() {
  std::string text = "Transports:\n";
  for (const auto& info : transports()) {
    text += "  " + std::string(info.name) + ": " + std::string(info.summary) + "\n";
  }
  return text;
}

PeerAddress to_address(const std::string& text, const char* option) {
  auto address = PeerAddress::parse(text);
  if (!address) {
    throw OptionsError(std::string("--") + option + ": expected IP:PORT or [IPv6]:PORT, got '" + text + "'");
  }
  return *address;
}

pt::Severity to_severity(const std::string& text) {
  for (auto severity : {pt::Severity::error, pt::Severity::warning, pt::Severity::notice, pt::Severity::info,
                        pt::Severity::debug}) {
    if (text == pt::to_string(severity)) return severity;
  }
  throw OptionsError("--log-level: expected error, warning, notice, info or debug, got '" + text + "'");
}

// Boost's message for a bad option. Boost builds it by replacing placeholders (%option%, %value%,
// %original_token%, ...) with the option's text until none is left, so a name or value that itself contains
// one ("--x%value%", "mtu=%value%" in a config file or TOR_PT_SERVER_TRANSPORT_OPTIONS) made what() loop
// forever: hoplink hung at start-up. The operator's text goes into the message with '%' shown as '?'.
struct Substitutions : po::error_with_option_name {
  static std::map<std::string, std::string>& of(po::error_with_option_name& e) {
    return e.*(&Substitutions::m_substitutions);
  }
};
std::string message(po::error& e) {
  if (auto* named = dynamic_cast<po::error_with_option_name*>(&e)) {
    for (auto& [placeholder, text] : Substitutions::of(*named))
      std::replace(text.begin(), text.end(), '%', '?');
  }
  return e.what();
}

// Values read by the description; converted and range-checked afterwards.
struct RawValues {
  std::string listen, remote, orport, ext_orport, cc = "bbr", log_level = "notice", config, io = "udp";
  std::size_t mtu = 0, send_buffer = 0, receive_buffer = 0, max_window = 0, max_links = 0;
  long long heartbeat_ms = 0, dead_peer_ms = 0, connect_timeout_ms = 0, handshake_timeout_ms = 0;
  long long rto_min_ms = 0, rto_max_ms = 0, rto_initial_ms = 0, delayed_sack_ms = 0, status_s = 0;
  long long dtls_handshake_timeout_ms = 0;
  std::size_t dtls_max_half_open = 0, max_peers = 0;
  double answer_rate = 0, handshake_rate = 0, handshake_rate_per_prefix = 0;
  unsigned sack_frequency = 0, initial_cwnd = 0, max_burst = 0;
  DpdkOptionValues dpdk;
};

// The per-link options, shared by the command line and TOR_PT_SERVER_TRANSPORT_OPTIONS.
void add_link_options(po::options_description& description, RawValues& raw, const LinkOptions& defaults) {
  const auto& a = defaults.association;
  description.add_options()  //
      ("mtu", po::value(&raw.mtu)->default_value(a.mtu),
       "SCTP packet size in bytes, i.e. the UDP payload (576..9000); no path MTU discovery runs inside "
       "UDP")  //
      ("send-buffer", po::value(&raw.send_buffer)->default_value(a.send_buffer),
       "bytes per link queued for sending and not yet acknowledged, at the start")  //
      ("receive-buffer", po::value(&raw.receive_buffer)->default_value(a.receive_buffer),
       "bytes per link the peer may send ahead (receive window), at the start")  //
      ("max-window", po::value(&raw.max_window)->default_value(a.max_window),
       "bytes up to which a link's send buffer and receive window grow, toward twice its path's "
       "bandwidth-delay product, returning to their start when it idles; 0: they never grow")  //
      ("heartbeat-interval", po::value(&raw.heartbeat_ms)->default_value(a.heartbeat_interval.count()),
       "milliseconds between heartbeats on an idle link")  //
      ("dead-peer-timeout", po::value(&raw.dead_peer_ms)->default_value(a.dead_peer_timeout.count()),
       "milliseconds after which a peer that answers nothing is declared dead and its links closed")  //
      ("connect-timeout", po::value(&raw.connect_timeout_ms)->default_value(defaults.connect_timeout.count()),
       "client: milliseconds to wait for a bridge before the SOCKS request fails")  //
      ("handshake-timeout",
       po::value(&raw.handshake_timeout_ms)->default_value(defaults.handshake_timeout.count()),
       "server: milliseconds allowed to connect and authenticate to tor's (Extended) ORPort")  //
      ("max-links", po::value(&raw.max_links)->default_value(defaults.max_links),
       "links at most at once; more are refused with a LOG line");
}

void check_range(long long value, long long low, long long high, const char* option) {
  if (value < low || value > high) {
    throw OptionsError(std::string("--") + option + ": " + std::to_string(value) + " is outside " +
                       std::to_string(low) + ".." + std::to_string(high));
  }
}

void convert_link_values(const RawValues& raw, LinkOptions& link) {
  check_range(static_cast<long long>(raw.mtu), 576, 9000, "mtu");
  check_range(static_cast<long long>(raw.send_buffer), 16 * 1024, 256LL * 1024 * 1024, "send-buffer");
  check_range(static_cast<long long>(raw.receive_buffer), 16 * 1024, 256LL * 1024 * 1024, "receive-buffer");
  if (raw.max_window != 0) {
    check_range(static_cast<long long>(raw.max_window),
                static_cast<long long>(std::max(raw.send_buffer, raw.receive_buffer)), 256LL * 1024 * 1024,
                "max-window");
  }
  check_range(raw.heartbeat_ms, 100, 3'600'000, "heartbeat-interval");
  check_range(raw.dead_peer_ms, 500, 3'600'000, "dead-peer-timeout");
  check_range(raw.connect_timeout_ms, 100, 600'000, "connect-timeout");
  check_range(raw.handshake_timeout_ms, 100, 600'000, "handshake-timeout");
  check_range(static_cast<long long>(raw.max_links), 1, 1'000'000, "max-links");
  link.max_links = raw.max_links;
  link.association.mtu = raw.mtu;
  link.association.send_buffer = raw.send_buffer;
  link.association.receive_buffer = raw.receive_buffer;
  link.association.max_window = raw.max_window;
  link.association.heartbeat_interval = std::chrono::milliseconds(raw.heartbeat_ms);
  link.association.dead_peer_timeout = std::chrono::milliseconds(raw.dead_peer_ms);
  link.connect_timeout = std::chrono::milliseconds(raw.connect_timeout_ms);
  link.handshake_timeout = std::chrono::milliseconds(raw.handshake_timeout_ms);
}

struct Descriptions {
  po::options_description general{"General"};
  po::options_description unmanaged{"Unmanaged modes (client, server)"};
  po::options_description link{"Links (also TOR_PT_SERVER_TRANSPORT_OPTIONS keys, e.g. sctp:mtu=1280)"};
  po::options_description sctp{"SCTP stack (process-wide)"};
  po::options_description transports{"Transports (process-wide)"};
  po::options_description dtls{"DTLS (the dtls transport)"};
  po::options_description dpdk{"DPDK datagram backend (--io dpdk)"};
  po::options_description all;
};

void describe(Descriptions& d, RawValues& raw, Options& options) {
  const Options defaults;
  const auto& s = defaults.stack;
  d.general.add_options()                                                                               //
      ("help,h", po::bool_switch(&options.help), "print this help and exit")                            //
      ("version", po::bool_switch(&options.version), "print the version and exit")                      //
      ("config", po::value(&raw.config), "read more options from this file (one name=value per line)")  //
      ("io", po::value(&raw.io)->default_value(raw.io),
       "datagram I/O backend: udp (kernel socket) or dpdk (Ethernet frames through a DPDK port)")  //
      ("udp-socket-buffer",
       po::value(&options.datagrams.udp_socket_buffer)->default_value(options.datagrams.udp_socket_buffer),
       "SO_SNDBUF/SO_RCVBUF of the UDP socket, bytes")  //
      ("log-level", po::value(&raw.log_level)->default_value(raw.log_level),
       "LOG lines to tor at this severity and above: error, warning, notice, info, debug")  //
      ("status-interval", po::value(&raw.status_s)->default_value(options.status_interval.count()),
       "seconds between STATUS lines with the counters (0: only when a link closes)");
  d.unmanaged.add_options()  //
      ("transport", po::value(&options.transport)->default_value(options.transport),
       ("transport name: " + transport_names(" or ")).c_str())  //
      ("listen", po::value(&raw.listen),
       "client: TCP address for tor (SOCKS5, or forwarded with --remote; default 127.0.0.1:0); "
       "server: UDP address to serve the transport on (default 0.0.0.0:0)")                              //
      ("remote", po::value(&raw.remote), "client: forward every TCP connection to this bridge IP:PORT")  //
      ("orport", po::value(&raw.orport), "server: hand each link to this TCP address (plain ORPort)")    //
      ("ext-orport", po::value(&raw.ext_orport), "server: hand each link to this Extended ORPort")       //
      ("auth-cookie", po::value(&options.auth_cookie), "server: the Extended ORPort auth cookie file")   //
      ("state-dir", po::value(&options.state_dir),
       "server: directory for hoplink_bridgeline.txt and the dtls certificate (managed mode uses "
       "TOR_PT_STATE_LOCATION; without it a dtls server makes a certificate for this run only)");
  add_link_options(d.link, raw, defaults.link);
  d.sctp.add_options()  //
      ("cc", po::value(&raw.cc)->default_value(raw.cc),
       "congestion control: bbr (BBR, paced by hoplink), or usrsctp's unpaced Reno-like modules rfc2581, "
       "hstcp, htcp, rtcc")                                                                         //
      ("rto-min", po::value(&raw.rto_min_ms)->default_value(s.rto_min.count()), "minimum RTO, ms")  //
      ("rto-max", po::value(&raw.rto_max_ms)->default_value(s.rto_max.count()), "maximum RTO, ms")  //
      ("rto-initial", po::value(&raw.rto_initial_ms)->default_value(s.rto_initial.count()),
       "initial RTO, ms")  //
      ("delayed-sack", po::value(&raw.delayed_sack_ms)->default_value(s.delayed_sack.count()),
       "delayed SACK timeout, ms")  //
      ("sack-frequency", po::value(&raw.sack_frequency)->default_value(s.sack_frequency),
       "acknowledge every Nth packet")  //
      ("initial-cwnd", po::value(&raw.initial_cwnd)->default_value(s.initial_cwnd_mtus),
       "initial congestion window, packets")  //
      ("max-burst", po::value(&raw.max_burst)->default_value(s.max_burst), "packets per burst, 0: no limit");
  d.transports.add_options()  //
      ("max-peers", po::value(&raw.max_peers)->default_value(defaults.transports.max_peers),
       "remote UDP addresses each transport keeps state for at once (a dtls client: one per link); more are "
       "refused (PEERS_REFUSED in STATUS)")  //
      ("answer-rate",
       po::value(&raw.answer_rate)->default_value(defaults.transports.limits.answers_per_second),
       "server: answers per second to addresses that have not proven they receive them (sctp INIT ACK, dtls "
       "HelloVerifyRequest), per transport; 0: no limit (ANSWERS_LIMITED in STATUS)")  //
      ("handshake-rate",
       po::value(&raw.handshake_rate)->default_value(defaults.transports.limits.handshakes_per_second),
       "server: new links per second from proven addresses, per transport; 0: no limit "
       "(HANDSHAKES_LIMITED)")  //
      ("handshake-rate-per-prefix",
       po::value(&raw.handshake_rate_per_prefix)
           ->default_value(defaults.transports.limits.handshakes_per_prefix_second),
       "server: new links per second from one IPv4 /24 or IPv6 /48, per transport; 0: no limit "
       "(HANDSHAKES_PREFIX_LIMITED)");
  d.dtls.add_options()  //
      ("dtls-handshake-timeout",
       po::value(&raw.dtls_handshake_timeout_ms)
           ->default_value(defaults.transports.dtls.handshake_timeout.count()),
       "milliseconds a DTLS handshake may take (retransmissions included) before it is dropped")  //
      ("dtls-max-half-open",
       po::value(&raw.dtls_max_half_open)->default_value(defaults.transports.dtls.max_half_open),
       "server: DTLS handshakes in progress at once; more are refused (counted in STATUS)")  //
      ("fp", po::value(&options.fingerprint),
       "client with --remote: the bridge certificate's SHA-256 fingerprint (the fp= of its bridge line); "
       "through SOCKS it comes from the bridge line");
  raw.dpdk.describe(d.dpdk);
  d.all.add(d.general).add(d.unmanaged).add(d.link).add(d.sctp).add(d.transports).add(d.dtls).add(d.dpdk);
}

void convert(const RawValues& raw, Options& options) {
  options.log_level = to_severity(raw.log_level);
  check_range(raw.status_s, 0, 86400, "status-interval");
  options.status_interval = std::chrono::seconds(raw.status_s);
  const auto backend = parse_io_backend(raw.io);
  if (!backend) throw OptionsError("--io: unknown backend '" + raw.io + "' (available: udp, dpdk)");
  options.datagrams.backend = *backend;
  check_range(static_cast<long long>(options.datagrams.udp_socket_buffer), 64 * 1024, 1LL << 30,
              "udp-socket-buffer");
  auto cc = sctp::parse_congestion_control(raw.cc);
  if (!cc) throw OptionsError("--cc: expected bbr, rfc2581, hstcp, htcp or rtcc, got '" + raw.cc + "'");
  options.stack.congestion_control = *cc;
  check_range(raw.rto_min_ms, 10, 60'000, "rto-min");
  check_range(raw.rto_max_ms, raw.rto_min_ms, 600'000, "rto-max");
  check_range(raw.rto_initial_ms, raw.rto_min_ms, raw.rto_max_ms, "rto-initial");
  check_range(raw.delayed_sack_ms, 0, 500, "delayed-sack");
  check_range(raw.sack_frequency, 1, 64, "sack-frequency");
  check_range(raw.initial_cwnd, 1, 1000, "initial-cwnd");
  check_range(raw.max_burst, 0, 10000, "max-burst");
  options.stack.rto_min = std::chrono::milliseconds(raw.rto_min_ms);
  options.stack.rto_max = std::chrono::milliseconds(raw.rto_max_ms);
  options.stack.rto_initial = std::chrono::milliseconds(raw.rto_initial_ms);
  options.stack.delayed_sack = std::chrono::milliseconds(raw.delayed_sack_ms);
  options.stack.sack_frequency = raw.sack_frequency;
  options.stack.initial_cwnd_mtus = raw.initial_cwnd;
  options.stack.max_burst = raw.max_burst;
  convert_link_values(raw, options.link);
  check_range(raw.dtls_handshake_timeout_ms, 500, 600'000, "dtls-handshake-timeout");
  check_range(static_cast<long long>(raw.dtls_max_half_open), 1, 1'000'000, "dtls-max-half-open");
  check_range(static_cast<long long>(raw.max_peers), 1, 10'000'000, "max-peers");
  options.transports.dtls.handshake_timeout = std::chrono::milliseconds(raw.dtls_handshake_timeout_ms);
  options.transports.dtls.max_half_open = raw.dtls_max_half_open;
  options.transports.max_peers = raw.max_peers;
  for (const auto& [value, name] :
       {std::pair{raw.answer_rate, "answer-rate"}, std::pair{raw.handshake_rate, "handshake-rate"},
        std::pair{raw.handshake_rate_per_prefix, "handshake-rate-per-prefix"}}) {
    if (!(value >= 0 && value <= 1e7)) {
      throw OptionsError(std::string("--") + name + ": expected 0 (no limit) to 10000000 per second");
    }
  }
  options.transports.limits.answers_per_second = raw.answer_rate;
  options.transports.limits.handshakes_per_second = raw.handshake_rate;
  options.transports.limits.handshakes_per_prefix_second = raw.handshake_rate_per_prefix;
  if (options.datagrams.backend == IoBackend::dpdk) options.datagrams.dpdk = raw.dpdk.convert();
  check_link_fits(options.link, options.datagrams);

  if (!raw.listen.empty()) options.listen = to_address(raw.listen, "listen");
  if (!raw.remote.empty()) options.remote = to_address(raw.remote, "remote");
  if (!raw.orport.empty()) options.orport = to_address(raw.orport, "orport");
  if (!raw.ext_orport.empty()) options.ext_orport = to_address(raw.ext_orport, "ext-orport");
}

void check_mode(const Options& options) {
  if (options.help || options.version) return;
  const bool server_only = options.orport || options.ext_orport || !options.auth_cookie.empty();
  switch (options.mode) {
    case Mode::managed:
      if (options.listen || options.remote || server_only || !options.fingerprint.empty()) {
        throw OptionsError(
            "--listen, --remote, --fp, --orport, --ext-orport and --auth-cookie need 'client' or 'server' "
            "(under tor, fp= comes from the bridge line)");
      }
      break;
    case Mode::client:
      if (server_only) throw OptionsError("--orport, --ext-orport and --auth-cookie are server options");
      if (find_transport(options.transport) == nullptr)
        throw OptionsError("--transport: unknown transport '" + options.transport +
                           "' (available: " + transport_names() + ")");
      break;
    case Mode::server:
      if (options.remote || !options.fingerprint.empty())
        throw OptionsError("--remote and --fp are client options");
      if (find_transport(options.transport) == nullptr)
        throw OptionsError("--transport: unknown transport '" + options.transport +
                           "' (available: " + transport_names() + ")");
      if (!options.orport && !options.ext_orport)
        throw OptionsError("server: --orport or --ext-orport is required");
      if (options.orport && options.ext_orport)
        throw OptionsError("server: give --orport or --ext-orport, not both");
      if (options.ext_orport && options.auth_cookie.empty()) {
        throw OptionsError("server: --ext-orport needs --auth-cookie");
      }
      break;
  }
}

}  // namespace

Options parse_options(int argc, const char* const* argv) {
  Options options;
  int first = 1;
  if (argc > 1) {
    const std::string word = argv[1];
    if (word == "client" || word == "server" || word == "managed") {
      options.mode = word == "client" ? Mode::client : word == "server" ? Mode::server : Mode::managed;
      first = 2;
    }
  }
  RawValues raw;
  Descriptions d;
  describe(d, raw, options);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc - first + 1, argv + first - 1).options(d.all).run(), vm);
    // argv + first - 1 keeps a program name in front for Boost; the mode word is skipped.
    if (vm.count("config")) {
      const auto path = vm["config"].as<std::string>();
      std::ifstream file(path);
      if (!file) throw OptionsError("--config: cannot read '" + path + "'");
      po::store(po::parse_config_file(file, d.all), vm);
    }
    po::notify(vm);
  } catch (po::error& e) {
    throw OptionsError(message(e));
  }
  convert(raw, options);
  check_mode(options);
  return options;
}

void apply_transport_options(LinkOptions& link, const std::vector<std::pair<std::string, std::string>>& kv,
                             const DatagramOptions& datagrams) {
  RawValues raw;
  po::options_description description;
  add_link_options(description, raw, link);
  std::ostringstream text;
  for (const auto& [key, value] : kv) {
    // The pairs become lines of Boost's config-file syntax, where '=' ends a name, '#' starts a comment and
    // a line break starts a line: inside a pair, any of them set an option that was never given as a name
    // ("x\nmtu"="1280" and "max-links=1#x"="" did, both found by fuzz_transport_options).
    const bool name_ok = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
    if (!name_ok) throw OptionsError("a transport option's name may hold only a-z, 0-9 and '-'");
    if (value.find_first_of("\n\r#") != std::string::npos) {
      throw OptionsError("transport option " + key + ": its value may not hold a line break or '#'");
    }
    text << key << '=' << value << '\n';
  }
  std::istringstream input(text.str());
  po::variables_map vm;
  try {
    po::store(po::parse_config_file(input, description), vm);
    po::notify(vm);
  } catch (po::error& e) {
    throw OptionsError(message(e));
  }
  convert_link_values(raw, link);
  check_link_fits(link, datagrams);
}

void check_link_fits(const LinkOptions& link, const DatagramOptions& datagrams) {
  const auto limit = datagrams.max_udp_payload();
  if (limit && link.association.mtu > *limit) {
    throw OptionsError("mtu " + std::to_string(link.association.mtu) + " does not fit --dpdk-mtu " +
                       std::to_string(datagrams.dpdk.mtu) + " with " +
                       std::to_string(datagrams.dpdk.mtu - *limit) +
                       " bytes of IP and UDP headers: at most " + std::to_string(*limit));
  }
}

std::string help_text() {
  RawValues raw;
  Options options;
  Descriptions d;
  describe(d, raw, options);
  std::ostringstream out;
  out << kUsage << '\n' << transports_text() << d.all;
  return out.str();
}

}  // namespace hoplink::transport
