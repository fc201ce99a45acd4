#include "ext_or_auth.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string_view>

namespace hoplink::itest {
namespace {

Bytes32 hmac(const Bytes32& key, std::string_view label, const Bytes32& cn, const Bytes32& sn) {
  std::uint8_t msg[128];
  std::memcpy(msg, label.data(), label.size());
  std::memcpy(msg + label.size(), cn.data(), 32);
  std::memcpy(msg + label.size() + 32, sn.data(), 32);
  Bytes32 out{};
  unsigned len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), msg, label.size() + 64, out.data(),
            &len) ||
      len != 32) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return out;
}

}  // namespace

Bytes32 ext_or_server_hash(const Bytes32& cookie, const Bytes32& client_nonce, const Bytes32& server_nonce) {
  return hmac(cookie, "ExtORPort authentication server-to-client hash", client_nonce, server_nonce);
}

Bytes32 ext_or_client_hash(const Bytes32& cookie, const Bytes32& client_nonce, const Bytes32& server_nonce) {
  return hmac(cookie, "ExtORPort authentication client-to-server hash", client_nonce, server_nonce);
}

Bytes32 random_bytes32() {
  Bytes32 out{};
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

void write_cookie_file(const std::filesystem::path& path, const Bytes32& cookie) {
  static constexpr std::string_view kHeader = "! Extended ORPort Auth Cookie !\x0a";
  static_assert(kHeader.size() == 32);
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(kHeader.data(), kHeader.size());
    out.write(reinterpret_cast<const char*>(cookie.data()), cookie.size());
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  ::chmod(tmp.c_str(), 0600);
  std::filesystem::rename(tmp, path);  // atomic: a reader never sees half a cookie
}

}  // namespace hoplink::itest
