#include "app/bridge_line.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace hoplink;
using namespace hoplink::transport;

TEST_CASE("bridge lines name the transport, the address and a fingerprint placeholder") {
  CHECK(bridge_line({"sctp", *PeerAddress::parse("192.0.2.7:4433"), {}}) ==
        "Bridge sctp 192.0.2.7:4433 <FINGERPRINT>");
  CHECK(bridge_line({"sctp", *PeerAddress::parse("0.0.0.0:4433"), {}}) ==
        "Bridge sctp <IP ADDRESS>:4433 <FINGERPRINT>");
  CHECK(bridge_line({"sctp", *PeerAddress::parse("[2001:db8::1]:5"), {}}) ==
        "Bridge sctp [2001:db8::1]:5 <FINGERPRINT>");
  CHECK(bridge_line({"dtls", *PeerAddress::parse("[::]:5"), {{"fp", "ab12"}}}) ==
        "Bridge dtls <IP ADDRESS>:5 <FINGERPRINT> fp=ab12");
}

TEST_CASE("the bridge line file is comments then one line per transport, mode 0600") {
  char pattern[] = "/tmp/hoplink-bridgeline-XXXXXX";
  const char* dir = ::mkdtemp(pattern);
  REQUIRE(dir != nullptr);
  auto written = write_bridge_line_file(dir, {{"sctp", *PeerAddress::parse("127.0.0.1:1234"), {}}});
  REQUIRE(written.ok());
  CHECK(written.value() == std::string(dir) + "/hoplink_bridgeline.txt");
  std::ifstream file(written.value());
  std::string line;
  std::vector<std::string> bridges;
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;
    bridges.push_back(line);
  }
  REQUIRE(bridges.size() == 1);
  CHECK(bridges[0] == "Bridge sctp 127.0.0.1:1234 <FINGERPRINT>");
  struct stat info {};
  REQUIRE(::stat(written.value().c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  CHECK_FALSE(std::filesystem::exists(written.value() + ".tmp"));
  // tor's TOR_PT_STATE_LOCATION ends in '/': the path hoplink logs has no double slash.
  auto again = write_bridge_line_file(std::string(dir) + "/", {});
  REQUIRE(again.ok());
  CHECK(again.value() == written.value());
  std::filesystem::remove_all(dir);
  CHECK_FALSE(write_bridge_line_file("/nonexistent/dir", {}).ok());
}
