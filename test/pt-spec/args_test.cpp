#include "pt/args.hpp"

#include <catch2/catch.hpp>

using namespace hoplink::pt;

TEST_CASE("parse_socks_args splits pairs and keeps their order") {
  const auto args = parse_socks_args("cert=AbC;iat-mode=0");
  REQUIRE(args);
  REQUIRE(*args == Args{{"cert", "AbC"}, {"iat-mode", "0"}});
  CHECK(find_arg(*args, "iat-mode") == "0");
  CHECK_FALSE(find_arg(*args, "missing"));
}

TEST_CASE("parse_socks_args unescapes semicolon, equals and backslash") {
  const auto args = parse_socks_args(R"(k\;1=v\=2\\;x=\;)");
  REQUIRE(args);
  REQUIRE(*args == Args{{"k;1", "v=2\\"}, {"x", ";"}});
}

TEST_CASE("parse_socks_args: only the first unescaped = splits key from value") {
  const auto args = parse_socks_args("a=b=c");
  REQUIRE(args);
  CHECK(*args == Args{{"a", "b=c"}});
}

TEST_CASE("parse_socks_args: empty text and empty values") {
  REQUIRE(parse_socks_args(""));
  CHECK(parse_socks_args("")->empty());
  const auto args = parse_socks_args("a=;b=");
  REQUIRE(args);
  CHECK(*args == Args{{"a", ""}, {"b", ""}});
}

TEST_CASE("parse_socks_args rejects malformed lists") {
  CHECK_FALSE(parse_socks_args("novalue"));
  CHECK_FALSE(parse_socks_args("=v"));
  CHECK_FALSE(parse_socks_args("a=1;a=2"));
  CHECK_FALSE(parse_socks_args("a=1\\"));
  CHECK_FALSE(parse_socks_args("a=1;"));
  CHECK_FALSE(parse_socks_args(";a=1"));
  CHECK_FALSE(parse_socks_args("a\\=1"));  // the only '=' is escaped
}

TEST_CASE("format_socks_args escapes exactly semicolon, equals and backslash") {
  CHECK(format_socks_args({{"a;b", "c=d\\"}, {"e", "f,g h"}}) == R"(a\;b=c\=d\\;e=f,g h)");
  CHECK(format_socks_args({}).empty());
}

TEST_CASE("SMETHOD args escape comma, equals and backslash, not semicolon") {
  CHECK(format_smethod_args({{"cert", "a,b=c\\d;e"}, {"k", "v"}}) == R"(cert=a\,b\=c\\d;e,k=v)");
  const auto parsed = parse_smethod_args(R"(cert=a\,b\=c\\d;e,k=v)");
  REQUIRE(parsed);
  CHECK(*parsed == Args{{"cert", "a,b=c\\d;e"}, {"k", "v"}});
  CHECK_FALSE(parse_smethod_args("a=1,a=2"));
  CHECK_FALSE(parse_smethod_args("a"));
}

TEST_CASE("escaping round trips in both dialects") {
  const std::vector<Args> cases = {
      {},
      {{"k", ""}},
      {{"\\", "\\\\"}},
      {{"=;,:", ";=,:\\"}, {"second", "x"}},
      {{"fingerprint", "AA:BB:CC"}, {"iat", "1"}, {"trailing", "\\"}},
  };
  for (const auto& args : cases) {
    const auto socks = parse_socks_args(format_socks_args(args));
    REQUIRE(socks);
    CHECK(*socks == args);
    const auto smethod = parse_smethod_args(format_smethod_args(args));
    REQUIRE(smethod);
    CHECK(*smethod == args);
  }
}

TEST_CASE("parse_server_transport_options groups options by transport") {
  const auto options = parse_server_transport_options("dtls:mtu=1200;sctp:crc=on;dtls:cert=x");
  REQUIRE(options);
  REQUIRE(options->size() == 2);
  CHECK(options->at("dtls") == Args{{"mtu", "1200"}, {"cert", "x"}});
  CHECK(options->at("sctp") == Args{{"crc", "on"}});
}

TEST_CASE("parse_server_transport_options unescapes colon, semicolon, equals and backslash") {
  const auto options = parse_server_transport_options(R"(t:k\:1=v\;2\\\=x;t:url=a:b)");
  REQUIRE(options);
  CHECK(options->at("t") == Args{{"k:1", "v;2\\=x"}, {"url", "a:b"}});
}

TEST_CASE("parse_server_transport_options rejects malformed text") {
  REQUIRE(parse_server_transport_options(""));
  CHECK(parse_server_transport_options("")->empty());
  CHECK_FALSE(parse_server_transport_options("nocolon=1"));
  CHECK_FALSE(parse_server_transport_options("t:noequals"));
  CHECK_FALSE(parse_server_transport_options(":k=v"));
  CHECK_FALSE(parse_server_transport_options("bad-name:k=v"));
  CHECK_FALSE(parse_server_transport_options("t:=v"));
  CHECK_FALSE(parse_server_transport_options("t:k=v;"));
  CHECK_FALSE(parse_server_transport_options("t:k=v;t:k=w"));
  CHECK_FALSE(parse_server_transport_options("t:k=v\\"));
}

TEST_CASE("is_valid_transport_name follows [a-zA-Z_][a-zA-Z0-9_]*") {
  CHECK(is_valid_transport_name("sctp"));
  CHECK(is_valid_transport_name("_x9"));
  CHECK(is_valid_transport_name("Obfs4_Z"));
  CHECK_FALSE(is_valid_transport_name(""));
  CHECK_FALSE(is_valid_transport_name("9lives"));
  CHECK_FALSE(is_valid_transport_name("a-b"));
  CHECK_FALSE(is_valid_transport_name("a b"));
  CHECK_FALSE(is_valid_transport_name("*"));
  CHECK_FALSE(is_valid_transport_name(std::string_view("a\0b", 3)));
}
