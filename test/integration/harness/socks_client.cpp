#include "socks_client.hpp"

#include <arpa/inet.h>

#include <vector>

namespace hoplink::itest {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ';' || c == '=' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string encode_socks_args(const KeyValues& args) {
  std::string out;
  for (const auto& [k, v] : args) {
    if (!out.empty()) out.push_back(';');
    out += escape(k) + "=" + escape(v);
  }
  return out;
}

std::string socks_reply_name(std::uint8_t rep) {
  static const char* names[] = {"succeeded",           "general failure",       "not allowed by ruleset",
                                "network unreachable", "host unreachable",      "connection refused",
                                "TTL expired",         "command not supported", "address type not supported"};
  return rep < 9 ? names[rep] : "unassigned " + std::to_string(rep);
}

std::string SocksOutcome::describe() const {
  std::string out = reply ? "SOCKS reply " + std::to_string(*reply) + " (" + socks_reply_name(*reply) + ")"
                          : "no SOCKS reply (" + error + ")";
  return out + " after " + std::to_string(elapsed.count()) + " ms";
}

SocksOutcome socks5_connect(std::uint16_t socks_port, const Endpoint& target, const KeyValues& args,
                            Deadline deadline) {
  SocksOutcome out;
  auto start = Clock::now();
  auto finish = [&](std::string error) {
    out.error = std::move(error);
    out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    if (!out.connected()) out.fd.reset();
    return std::move(out);
  };
  try {
    out.fd = tcp_connect(socks_port, deadline);
  } catch (const std::exception& e) {
    return finish(e.what());
  }
  int fd = out.fd.get();
  std::string encoded = encode_socks_args(args);
  std::vector<std::uint8_t> greeting =
      encoded.empty() ? std::vector<std::uint8_t>{5, 1, 0} : std::vector<std::uint8_t>{5, 2, 0, 2};
  if (auto s = send_all(fd, greeting, deadline); s != IoStatus::ok)
    return finish("greeting: " + to_string(s));
  std::uint8_t choice[2];
  if (auto s = recv_exact(fd, choice, deadline); s != IoStatus::ok)
    return finish("method choice: " + to_string(s));
  if (choice[0] != 5) return finish("method choice with version " + std::to_string(choice[0]));
  if (choice[1] == 2 && !encoded.empty()) {
    // tor puts the first 255 bytes in the username and the rest in the password ("\0" when empty).
    std::string user = encoded.substr(0, 255);
    std::string pass = encoded.size() > 255 ? encoded.substr(255) : std::string(1, '\0');
    if (pass.size() > 255) return finish("SOCKS args longer than 510 bytes");
    std::vector<std::uint8_t> auth{1, static_cast<std::uint8_t>(user.size())};
    auth.insert(auth.end(), user.begin(), user.end());
    auth.push_back(static_cast<std::uint8_t>(pass.size()));
    auth.insert(auth.end(), pass.begin(), pass.end());
    if (auto s = send_all(fd, auth, deadline); s != IoStatus::ok) return finish("auth: " + to_string(s));
    std::uint8_t status[2];
    if (auto s = recv_exact(fd, status, deadline); s != IoStatus::ok)
      return finish("auth status: " + to_string(s));
    if (status[0] != 1 || status[1] != 0) return finish("RFC 1929 auth refused");
  } else if (choice[1] != 0) {
    return finish("server chose method " + std::to_string(choice[1]));
  }
  in_addr addr{};
  ::inet_pton(AF_INET, target.ip.c_str(), &addr);
  std::vector<std::uint8_t> request{5, 1, 0, 1};
  auto* a = reinterpret_cast<const std::uint8_t*>(&addr.s_addr);
  request.insert(request.end(), a, a + 4);
  request.push_back(static_cast<std::uint8_t>(target.port >> 8));
  request.push_back(static_cast<std::uint8_t>(target.port));
  if (auto s = send_all(fd, request, deadline); s != IoStatus::ok) return finish("CONNECT: " + to_string(s));
  std::uint8_t reply[10];
  if (auto s = recv_exact(fd, reply, deadline); s != IoStatus::ok) return finish("reply: " + to_string(s));
  if (reply[0] != 5 || reply[2] != 0 || reply[3] != 1) return finish("malformed reply");
  out.reply = reply[1];
  return finish("");
}

}  // namespace hoplink::itest
