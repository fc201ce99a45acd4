#include "harness.hpp"

#include <catch2/catch.hpp>

#include "links/tcp_endpoint.hpp"

namespace hoplink::transport::in_process {

std::vector<std::byte> pattern(std::size_t count, unsigned seed) {
  std::vector<std::byte> bytes(count);
  for (std::size_t i = 0; i < count; ++i)
    bytes[i] = std::byte(static_cast<unsigned char>((i * 7 + seed) % 251));
  return bytes;
}

TcpPeer::TcpPeer(tcp::socket socket) : socket_(std::move(socket)) {
  read();
}

void TcpPeer::read() {
  if (reading_ || paused_ || eof || error) return;
  reading_ = true;
  socket_.async_read_some(asio::buffer(buffer_), lifetime_.guard([this](const error_code& ec,
                                                                        std::size_t bytes) {
    reading_ = false;
    received.insert(received.end(), buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(bytes));
    if (ec == asio::error::eof) {
      eof = true;
      if (end_on_eof) shutdown_send();
      return;
    }
    if (ec) {
      if (!error && ec != asio::error::operation_aborted) error = ec;
      eof = true;
      return;
    }
    read();
  }));
}

void TcpPeer::resume_reading() {
  paused_ = false;
  read();
}

void TcpPeer::write(std::vector<std::byte> bytes) {
  queue_.push_back(std::move(bytes));
  write_next();
}

void TcpPeer::write_next() {
  if (writing_) return;
  if (queue_.empty()) {
    if (shutdown_pending_) {
      shutdown_pending_ = false;
      error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
    }
    return;
  }
  writing_ = true;
  asio::async_write(socket_, asio::buffer(queue_.front()),
                    lifetime_.guard([this](const error_code& ec, std::size_t bytes) {
                      writing_ = false;
                      written += bytes;
                      queue_.erase(queue_.begin());
                      if (ec) {
                        if (!error) error = ec;
                        return;
                      }
                      write_next();
                    }));
}

void TcpPeer::shutdown_send() {
  shutdown_pending_ = true;
  write_next();
}

void TcpPeer::reset() {
  error_code ignored;
  socket_.set_option(asio::socket_base::linger(true, 0), ignored);
  socket_.close(ignored);
}

void TcpPeer::close() {
  error_code ignored;
  socket_.close(ignored);
}

InProcess::InProcess(std::string transport_name, const std::function<void(Options&)>& configure)
    : network([this] {
        dio::MemoryNetworkConfig config;
        config.clock = [this] { return runtime.now(); };
        return config;
      }()),
      transport(std::move(transport_name)) {
  options.mode = Mode::managed;
  options.status_interval = std::chrono::seconds(0);
  options.log_level = pt::Severity::info;
  if (configure) configure(options);
  options.datagrams.backend = IoBackend::memory;
  options.datagrams.memory = &network;

  const tcp::endpoint loopback(asio::ip::address_v4::loopback(), 0);
  orport_.open(loopback.protocol());
  orport_.bind(loopback);
  orport_.listen();
  accept_orport();

  app_ = std::make_unique<App>(options, messages_, runtime);
  auto served = app_->add_server(transport, PeerAddress::v4({0, 0, 0, 0}, 0), options.link,
                                 OrPortTarget{from_tcp_endpoint(orport_.local_endpoint()), false, {}});
  REQUIRE(served.ok());
  bridge = PeerAddress::v4({127, 0, 0, 1}, served.value().port());
  auto listening =
      app_->add_client(transport, PeerAddress::v4({127, 0, 0, 1}, 0), bridge, app_->smethod_args(transport));
  REQUIRE(listening.ok());
  client_listener = listening.value();
}

InProcess::~InProcess() {
  app_.reset();
  client_peers_.clear();
  orport_peers_.clear();
}

void InProcess::accept_orport() {
  orport_.async_accept(lifetime_.guard([this](const error_code& ec, tcp::socket socket) {
    if (ec) return;
    orport_peers_.push_back(std::make_unique<TcpPeer>(std::move(socket)));
    orport_peers_.back()->end_on_eof = orport_end_on_eof;
    accept_orport();
  }));
}

TcpPeer& InProcess::connect() {
  tcp::socket socket(io);
  socket.connect(to_tcp_endpoint(client_listener));
  client_peers_.push_back(std::make_unique<TcpPeer>(std::move(socket)));
  return *client_peers_.back();
}

std::pair<TcpPeer*, TcpPeer*> InProcess::open_link() {
  auto& client = connect();
  const auto before = orport_peers_.size();
  REQUIRE(run_until([&] { return orport_peers_.size() > before; }, 5s));
  return {&client, orport_peers_.back().get()};
}

bool InProcess::run_until(const std::function<bool()>& done, Duration limit) {
  return runtime.run_for(done, limit);
}

std::map<std::string, std::string> InProcess::status() {
  std::map<std::string, std::string> fields;
  for (auto& [key, value] : app_->status_fields(transport)) fields[key] = value;
  return fields;
}

std::uint64_t InProcess::status_number(const std::string& key) {
  const auto fields = status();
  const auto found = fields.find(key);
  if (found == fields.end()) FAIL("no STATUS field " << key);
  return std::stoull(found->second);
}

std::vector<std::string> InProcess::lines_containing(const std::string& text) const {
  std::vector<std::string> lines;
  std::istringstream in(out_.str());
  for (std::string line; std::getline(in, line);) {
    if (line.find(text) != std::string::npos) lines.push_back(line);
  }
  return lines;
}

}  // namespace hoplink::transport::in_process
