#include "app/bridge_line.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hoplink::transport {

std::string bridge_line(const ServedTransport& served) {
  std::string host = served.address.is_unspecified() ? "<IP ADDRESS>" : served.address.host_string();
  if (served.address.family() == PeerAddress::Family::v6 && !served.address.is_unspecified())
    host = "[" + host + "]";
  std::string line =
      "Bridge " + served.name + " " + host + ":" + std::to_string(served.address.port()) + " <FINGERPRINT>";
  for (const auto& [key, value] : served.args) line += " " + key + "=" + value;
  return line;
}

std::string bridge_line_file(const std::vector<ServedTransport>& served) {
  std::string text =
      "# hoplink bridge lines. Give one of them to a client as a torrc line (with UseBridges 1 and\n"
      "# ClientTransportPlugin <transport> exec /path/to/hoplink).\n"
      "# Replace <FINGERPRINT> with this bridge's relay fingerprint (tor writes it to\n"
      "# DataDirectory/fingerprint; tor 0.4.9 also writes complete lines to DataDirectory/bridgelines)\n"
      "# and <IP ADDRESS>, where it appears, with the address clients reach this bridge at.\n"
      "# The port is a UDP port: open it in the firewall for UDP.\n"
      "# A dtls line's fp= is the SHA-256 of this bridge's DTLS certificate (hoplink_dtls_cert.pem beside "
      "this\n"
      "# file); clients refuse a bridge whose certificate does not match it. Rotating the certificate (stop "
      "the\n"
      "# bridge, delete hoplink_dtls_key.pem and hoplink_dtls_cert.pem, start it) changes fp=: every client "
      "then\n"
      "# needs the new line.\n";
  for (const auto& one : served) text += bridge_line(one) + "\n";
  return text;
}

Result<std::string, std::string> write_bridge_line_file(const std::string& directory,
                                                        const std::vector<ServedTransport>& served) {
  // tor's TOR_PT_STATE_LOCATION ends in '/': no second one in the path that LOG and errors show.
  const std::string path = directory + (directory.ends_with('/') ? "" : "/") + kBridgeLineFile;
  const std::string temporary = path + ".tmp";
  const auto text = bridge_line_file(served);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot write " + temporary + ": " + std::strerror(errno));
  const auto written = ::write(fd, text.data(), text.size());
  const int write_errno = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size())) {
    ::unlink(temporary.c_str());
    return fail("cannot write " + temporary + ": " + std::strerror(write_errno));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int rename_errno = errno;
    ::unlink(temporary.c_str());
    return fail("cannot rename to " + path + ": " + std::strerror(rename_errno));
  }
  return path;
}

}  // namespace hoplink::transport
