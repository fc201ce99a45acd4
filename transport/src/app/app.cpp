#include "app/app.hpp"

#include <unistd.h>

#include <csignal>

#include "links/path_status.hpp"
#include "links/tcp_endpoint.hpp"
#include "transports/transport_registry.hpp"

namespace hoplink::transport {

App::App(const Options& options, pt::Messages& messages, Runtime& runtime)
    : options_(options),
      log_(messages, options.log_level),
      runtime_(runtime),
      datagrams_(runtime, options.datagrams, log_),
      host_(runtime, options.stack),
      registry_(runtime, options.link.max_links),
      // Registered now, before the method lines tell tor we are up: a signal that comes before run() waits
      // in the set instead of killing the process.
      signals_(runtime.io(), SIGINT, SIGTERM),
      status_timer_(runtime),
      drain_timer_(runtime) {}

App::~App() {
  // Links first: they abort their associations while the transports can still send the ABORTs.
  registry_.close_all();
  runtime_.end_round();
  for (int i = 0; i < 1000 && runtime_.io().poll() > 0; ++i) {
  }
  transports_.clear();
}

DatagramTransport& App::transport(const std::string& name) {
  auto& slot = transports_[name];
  if (!slot) {
    // Callers checked the name against the registry.
    slot = find_transport(name)->make(
        TransportContext{runtime_, host_, datagrams_, log_, options_.transports, state_directory_});
    slot->set_outbound_bind(outbound_v4_, outbound_v6_);
  }
  return *slot;
}

pt::Args App::smethod_args(const std::string& name) {
  return transport(name).smethod_args();
}

Result<PeerAddress, std::string> App::add_client(const std::string& name, const PeerAddress& listen,
                                                 std::optional<PeerAddress> remote, pt::Args remote_args) {
  if (find_transport(name) == nullptr) return fail("no such transport: " + name);
  auto& acceptor = acceptors_.emplace_back(runtime_.io());
  error_code ec;
  const auto endpoint = to_tcp_endpoint(listen);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptors_.pop_back();
    return fail("cannot listen on " + listen.to_string() + ": " + ec.message());
  }
  auto& context = client_contexts_.emplace_back(ClientContext{LinkContext{runtime_, log_, registry_, name},
                                                              transport(name), options_.link, remote,
                                                              std::move(remote_args)});
  accept_tcp(acceptor, context);
  return from_tcp_endpoint(acceptor.local_endpoint());
}

void App::set_outbound_bind(std::optional<PeerAddress> v4, std::optional<PeerAddress> v6) {
  // Kept for the transports made later: making every registered one here would run (and report in STATUS)
  // transports tor never asked for.
  outbound_v4_ = v4;
  outbound_v6_ = v6;
  for (auto& [name, made] : transports_) made->set_outbound_bind(v4, v6);
}

Result<void, std::string> App::use_proxy(const std::vector<std::string>& names, const pt::ProxyUri& proxy,
                                         std::chrono::milliseconds timeout) {
  if (datagrams_.backend() != IoBackend::udp) {
    return fail("the SOCKS5 proxy is reached through kernel sockets: TOR_PT_PROXY needs --io udp, not --io " +
                std::string(to_string(datagrams_.backend())));
  }
  ClientProxy check{proxy, log_, {}};
  if (auto granted =
          ProxyAssociation(runtime_, check, PeerAddress::v4({0, 0, 0, 0}, 0)).associate_blocking(timeout);
      !granted.ok()) {
    return granted;
  }
  log_.notice("SOCKS5 proxy " + proxy.address.to_string() + " grants UDP ASSOCIATE: links go through it");
  for (const auto& name : names) {
    if (find_transport(name) == nullptr) continue;
    auto& slot = proxies_[name];
    slot = std::make_unique<ClientProxy>(ClientProxy{proxy, log_, {}});
    transport(name).set_proxy(slot.get());
  }
  return {};
}

void App::accept_tcp(tcp::acceptor& acceptor, ClientContext& context) {
  acceptor.async_accept(
      lifetime_.guard([this, &acceptor, &context](const error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        if (!ec) {
          if (registry_.full()) {
            ++registry_.totals().refused;
            log_.warning("connection from tor refused: " + std::to_string(registry_.size()) +
                         " links open (--max-links)");
          } else {
            const auto id = registry_.next_id();
            registry_.add(id, std::make_unique<ClientSession>(context, id, std::move(socket))).start();
          }
        } else {
          log_.warning("accept failed: " + ec.message());
        }
        accept_tcp(acceptor, context);
      }));
}

Result<PeerAddress, std::string> App::add_server(const std::string& name, const PeerAddress& bind,
                                                 const LinkOptions& link, const OrPortTarget& target) {
  if (find_transport(name) == nullptr) return fail("no such transport: " + name);
  auto& link_options = server_link_options_.emplace_back(link);
  auto& context =
      server_contexts_.emplace_back(ServerContext{LinkContext{runtime_, log_, registry_, name}, link_options,
                                                  target.address, target.extended, target.auth_cookie_file});
  return transport(name).serve(
      bind, link_options.association,
      [this, &context](std::unique_ptr<sctp::Association> association, const PeerAddress& from) {
        if (!accepting_) return;  // dropping it aborts it
        if (registry_.full()) {
          ++registry_.totals().refused;
          log_.warning("link from " + from.to_string() + " refused: " + std::to_string(registry_.size()) +
                       " links open (--max-links)");
          return;
        }
        const auto id = registry_.next_id();
        registry_.add(id, std::make_unique<ServerSession>(context, id, std::move(association), from)).start();
      });
}

void App::exit_on_stdin_close() {
  const int fd = ::dup(STDIN_FILENO);
  if (fd < 0) {
    log_.warning("cannot watch stdin: exit on stdin close is off");
    return;
  }
  stdin_.emplace(runtime_.io(), fd);
  watch_stdin();
}

void App::watch_stdin() {
  stdin_->async_read_some(asio::buffer(stdin_buffer_),
                          lifetime_.guard([this](const error_code& ec, std::size_t) {
                            if (ec == asio::error::operation_aborted) return;
                            if (ec) {
                              log_.notice("stdin closed: exiting");
                              stop();
                              return;
                            }
                            // tor writes nothing on stdin; whatever comes is ignored and the watch goes on.
                            watch_stdin();
                          }));
}

void App::on_signal(int number) {
  if (number == SIGINT && accepting_) {
    // First SIGINT: stop taking new links, let the open ones drain, then exit.
    accepting_ = false;
    log_.notice("SIGINT: no new links; exiting when the " + std::to_string(registry_.size()) +
                " open ones have closed (SIGINT again to exit now)");
    for (auto& acceptor : acceptors_) {
      error_code ignored;
      acceptor.close(ignored);
    }
    drain();
    signals_.async_wait(lifetime_.guard([this](const error_code& ec, int next) {
      if (!ec) on_signal(next);
    }));
    return;
  }
  log_.notice(number == SIGTERM ? "SIGTERM: exiting" : "SIGINT: exiting");
  stop();
}

void App::drain() {
  if (registry_.size() == 0) {
    stop();
    return;
  }
  drain_timer_.arm_after(std::chrono::milliseconds(100), [this] { drain(); });
}

StatusFields App::status_fields(const std::string& name) {
  const auto& totals = registry_.totals();
  const auto& stack = host_.counters();
  StatusFields fields = {{"LINKS", std::to_string(registry_.size())},
                         {"LINKS_OPENED", std::to_string(totals.opened)},
                         {"LINKS_CLOSED", std::to_string(totals.closed)},
                         {"LINKS_REFUSED", std::to_string(totals.refused)},
                         {"BYTES_TO_PEER", std::to_string(totals.bytes_to_peer)},
                         {"BYTES_FROM_PEER", std::to_string(totals.bytes_from_peer)},
                         {"SCTP_PACKETS_IN", std::to_string(stack.packets_in)},
                         {"SCTP_PACKETS_OUT", std::to_string(stack.packets_out)},
                         {"SCTP_BAD_CHECKSUM", std::to_string(stack.dropped_bad_checksum)}};
  for (auto& field : transport(name).status_fields()) fields.push_back(std::move(field));
  append_path_totals(fields, registry_);
  if (auto proxy = proxies_.find(name); proxy != proxies_.end()) {
    const auto& p = proxy->second->counters;
    add_field(fields, "PROXY_ASSOCIATIONS", p.associations);
    add_field(fields, "PROXY_FAILURES", p.association_failures);
    add_field(fields, "PROXY_DROPPED",
              p.dropped_no_relay + p.dropped_too_big + p.dropped_not_from_relay + p.dropped_malformed);
  }
  for (auto& field : datagrams_.status_fields()) fields.push_back(std::move(field));
  return fields;
}

void App::report_status() {
  for (const auto& [name, transport] : transports_) log_.messages().status(name, status_fields(name));
}

void App::arm_status_timer() {
  if (options_.status_interval.count() == 0) return;
  status_timer_.arm_after(options_.status_interval, [this] {
    report_status();
    arm_status_timer();
  });
}

void App::stop() {
  runtime_.io().stop();
}

int App::run() {
  signals_.async_wait(lifetime_.guard([this](const error_code& ec, int number) {
    if (!ec) on_signal(number);
  }));
  arm_status_timer();
  runtime_.io().run();
  report_status();
  return 0;
}

}  // namespace hoplink::transport
