#include "dtls/identity.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "harness.hpp"

namespace hoplink::dtls::test {
namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char pattern[] = "/tmp/hoplink_dtls_XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

bool is_lower_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

TEST_CASE("identity is created with mode 0600 and reloaded identical after a restart", "[dtls][identity]") {
  TempDir dir;
  ::umask(022);
  auto first = load_or_create_identity(dir.path);
  REQUIRE(first.ok());
  CHECK(first->fingerprint().size() == 64);
  CHECK(is_lower_hex(first->fingerprint()));
  CHECK(mode_of(dir.path / identity_key_file) == 0600);
  CHECK(mode_of(dir.path / identity_certificate_file) == 0600);
  CHECK_FALSE(std::filesystem::exists(dir.path / "hoplink_dtls_key.pem.tmp"));

  auto again = load_or_create_identity(dir.path);  // "restart"
  REQUIRE(again.ok());
  CHECK(again->fingerprint() == first->fingerprint());
  CHECK(std::ranges::equal(again->certificate_der(), first->certificate_der()));
}

TEST_CASE("two generated identities differ", "[dtls][identity]") {
  auto a = Identity::generate();
  auto b = Identity::generate();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->fingerprint() != b->fingerprint());
}

TEST_CASE("identity storage errors are values with clear messages", "[dtls][identity]") {
  SECTION("missing directory") {
    auto r = load_or_create_identity("/nonexistent/hoplink");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::identity_storage);
  }
  SECTION("certificate without key is not silently replaced") {
    TempDir dir;
    REQUIRE(load_or_create_identity(dir.path).ok());
    std::filesystem::remove(dir.path / identity_key_file);
    auto r = load_or_create_identity(dir.path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("delete both") != std::string::npos);
  }
  SECTION("corrupt key file") {
    TempDir dir;
    REQUIRE(load_or_create_identity(dir.path).ok());
    std::ofstream(dir.path / identity_key_file) << "garbage";
    auto r = load_or_create_identity(dir.path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::identity_storage);
  }
  SECTION("key of another identity") {
    TempDir a, b;
    REQUIRE(load_or_create_identity(a.path).ok());
    REQUIRE(load_or_create_identity(b.path).ok());
    std::filesystem::copy_file(a.path / identity_key_file, b.path / identity_key_file,
                               std::filesystem::copy_options::overwrite_existing);
    auto r = load_or_create_identity(b.path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("does not match") != std::string::npos);
  }
}

}  // namespace hoplink::dtls::test
