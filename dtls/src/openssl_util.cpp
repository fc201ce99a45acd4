#include "openssl_util.hpp"

#include <openssl/err.h>

namespace hoplink::dtls {

std::string openssl_error_text(std::string_view context) {
  std::string text(context);
  bool first = true;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    text += first ? ": " : "; ";
    text += buffer;
    first = false;
  }
  return text;
}

std::string to_hex(const unsigned char* bytes, std::size_t length) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (std::size_t i = 0; i < length; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0x0f];
  }
  return out;
}

}  // namespace hoplink::dtls
