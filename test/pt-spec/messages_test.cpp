#include "pt/messages.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <sstream>

using namespace hoplink;
using namespace hoplink::pt;

namespace {

// Counts flushes, so a test can tell that every line reached tor at once.
class FlushCountingBuffer : public std::stringbuf {
 public:
  int flushes = 0;

 protected:
  int sync() override {
    ++flushes;
    return std::stringbuf::sync();
  }
};

struct Capture {
  FlushCountingBuffer buffer;
  std::ostream stream{&buffer};
  Messages messages{stream};
  std::string text() const { return buffer.str(); }
};

}  // namespace

TEST_CASE("fixed lines") {
  Capture capture;
  capture.messages.version();
  capture.messages.version_error();
  capture.messages.proxy_done();
  capture.messages.cmethods_done();
  capture.messages.smethods_done();
  CHECK(capture.text() == "VERSION 1\nVERSION-ERROR no-version\nPROXY DONE\nCMETHODS DONE\nSMETHODS DONE\n");
  CHECK(capture.buffer.flushes == 5);
}

TEST_CASE("error lines with free text stay on one line") {
  Capture capture;
  capture.messages.env_error("no TOR_PT_STATE_LOCATION");
  capture.messages.proxy_error("bad\nproxy\r\x01uri");
  capture.messages.cmethod_error("sctp", "no such transport");
  capture.messages.smethod_error("dtls", "bind failed:\naddress in use");
  CHECK(capture.text() ==
        "ENV-ERROR no TOR_PT_STATE_LOCATION\n"
        "PROXY-ERROR bad proxy  uri\n"
        "CMETHOD-ERROR sctp no such transport\n"
        "SMETHOD-ERROR dtls bind failed: address in use\n");
  CHECK(capture.buffer.flushes == 4);
}

TEST_CASE("CMETHOD") {
  Capture capture;
  capture.messages.cmethod("sctp", *PeerAddress::parse("127.0.0.1:40001"));
  capture.messages.cmethod("dtls", *PeerAddress::parse("[::1]:40002"));
  CHECK(capture.text() == "CMETHOD sctp socks5 127.0.0.1:40001\nCMETHOD dtls socks5 [::1]:40002\n");
}

TEST_CASE("SMETHOD with and without ARGS") {
  Capture capture;
  capture.messages.smethod("sctp", *PeerAddress::parse("0.0.0.0:4000"), {});
  capture.messages.smethod("dtls", *PeerAddress::parse("[::]:4001"),
                           {{"fingerprint", "AB:CD"}, {"odd", "a,b=c\\"}});
  CHECK(capture.text() ==
        "SMETHOD sctp 0.0.0.0:4000\n"
        "SMETHOD dtls [::]:4001 ARGS:fingerprint=AB:CD,odd=a\\,b\\=c\\\\\n");
}

TEST_CASE("SMETHOD args that tor would split become an SMETHOD-ERROR") {
  Capture capture;
  capture.messages.smethod("dtls", *PeerAddress::parse("127.0.0.1:1"), {{"k", "has space"}});
  CHECK(capture.text() == "SMETHOD-ERROR dtls SMETHOD arguments contain a space or control character\n");
}

TEST_CASE("invalid transport names never reach a method line") {
  Capture capture;
  capture.messages.cmethod("bad name", *PeerAddress::parse("127.0.0.1:1"));
  capture.messages.cmethod_error("a-b", "x");
  capture.messages.smethod("9x", *PeerAddress::parse("127.0.0.1:1"), {});
  capture.messages.smethod_error("", "x");
  capture.messages.status("a\nb", {});
  CHECK(capture.text() ==
        "LOG SEVERITY=error MESSAGE=\"invalid transport name for CMETHOD: bad name\"\n"
        "LOG SEVERITY=error MESSAGE=\"invalid transport name for CMETHOD-ERROR: a-b\"\n"
        "LOG SEVERITY=error MESSAGE=\"invalid transport name for SMETHOD: 9x\"\n"
        "LOG SEVERITY=error MESSAGE=\"invalid transport name for SMETHOD-ERROR: \"\n"
        "LOG SEVERITY=error MESSAGE=\"invalid transport name for STATUS: a\\nb\"\n");
}

TEST_CASE("LOG lines name every severity") {
  Capture capture;
  capture.messages.log(Severity::error, "e");
  capture.messages.log(Severity::warning, "w");
  capture.messages.log(Severity::notice, "n");
  capture.messages.log(Severity::info, "i");
  capture.messages.log(Severity::debug, "d");
  CHECK(capture.text() ==
        "LOG SEVERITY=error MESSAGE=\"e\"\n"
        "LOG SEVERITY=warning MESSAGE=\"w\"\n"
        "LOG SEVERITY=notice MESSAGE=\"n\"\n"
        "LOG SEVERITY=info MESSAGE=\"i\"\n"
        "LOG SEVERITY=debug MESSAGE=\"d\"\n");
  CHECK(capture.buffer.flushes == 5);
  CHECK(to_string(Severity::warning) == "warning");
}

TEST_CASE("LOG MESSAGE uses C escapes and never a raw newline") {
  Capture capture;
  const std::string message =
      std::string("say \"hi\"\\ now\nnext\tcol\rret\x01\x1f\x7f") + '\0' + "end\xc3\xa9";
  capture.messages.log(Severity::notice, message);
  CHECK(capture.text() ==
        "LOG SEVERITY=notice MESSAGE=\"say \\\"hi\\\"\\\\ "
        "now\\nnext\\tcol\\rret\\x01\\x1f\\x7fend\xc3\xa9\"\n");
  const auto text = capture.text();
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}

TEST_CASE("STATUS quotes values only when needed") {
  Capture capture;
  capture.messages.status("sctp", {{"CONNECTED", "3"},
                                   {"ADDRESS", "198.51.100.7:443"},
                                   {"ERROR", "connection refused"},
                                   {"PATH", "C:\\x"},
                                   {"QUOTE", "a\"b"},
                                   {"EMPTY", ""},
                                   {"EQ", "a=b"},
                                   {"NL", "a\nb"}});
  CHECK(capture.text() ==
        "STATUS TRANSPORT=sctp CONNECTED=3 ADDRESS=198.51.100.7:443 ERROR=\"connection refused\" "
        "PATH=\"C:\\\\x\" QUOTE=\"a\\\"b\" EMPTY=\"\" EQ=\"a=b\" NL=\"a\\nb\"\n");
  CHECK(capture.buffer.flushes == 1);
}

TEST_CASE("STATUS with no fields and with an invalid key") {
  Capture capture;
  capture.messages.status("dtls", {});
  capture.messages.status("dtls", {{"OK", "1"}, {"BAD KEY", "2"}});
  CHECK(capture.text() ==
        "STATUS TRANSPORT=dtls\n"
        "LOG SEVERITY=error MESSAGE=\"invalid STATUS key: BAD KEY\"\n");
}

TEST_CASE("STATUS TYPE=version") {
  Capture capture;
  capture.messages.status_version("hoplink", "0.1.0");
  capture.messages.status_version("hop link", "1");
  CHECK(capture.text() ==
        "STATUS TYPE=version IMPLEMENTATION=hoplink VERSION=0.1.0\n"
        "STATUS TYPE=version IMPLEMENTATION=\"hop link\" VERSION=1\n");
}
