// A bounds-checked cursor over received bytes, for the incremental parsers: every read either succeeds or
// reports that more bytes are needed, never reading past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace hoplink::pt::detail {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> bytes) : bytes_(bytes) {}

  std::optional<std::uint8_t> u8() {
    if (remaining() < 1) return std::nullopt;
    return std::to_integer<std::uint8_t>(bytes_[position_++]);
  }

  // Big-endian, as every field on these wires is.
  std::optional<std::uint16_t> u16() {
    if (remaining() < 2) return std::nullopt;
    const auto high = std::to_integer<std::uint16_t>(bytes_[position_]);
    const auto low = std::to_integer<std::uint16_t>(bytes_[position_ + 1]);
    position_ += 2;
    return static_cast<std::uint16_t>((high << 8) | low);
  }

  std::optional<std::span<const std::byte>> bytes(std::size_t count) {
    if (remaining() < count) return std::nullopt;
    auto view = bytes_.subspan(position_, count);
    position_ += count;
    return view;
  }

  std::size_t remaining() const { return bytes_.size() - position_; }
  std::size_t consumed() const { return position_; }

 private:
  std::span<const std::byte> bytes_;
  std::size_t position_ = 0;
};

inline void append_u16(std::vector<std::byte>& out, std::uint16_t value) {
  out.push_back(static_cast<std::byte>(value >> 8));
  out.push_back(static_cast<std::byte>(value & 0xff));
}

}  // namespace hoplink::pt::detail
