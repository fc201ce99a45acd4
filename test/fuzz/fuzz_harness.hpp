// The bodies of the pt-spec fuzz targets. Each takes one input, drives a parser with it, and checks
// invariants that must hold for every input; a broken invariant aborts, which libFuzzer reports as a
// crash and the corpus-replay test as a failure. Each returns 0, as LLVMFuzzerTestOneInput must.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hoplink::fuzz {

// SOCKS5 server: the input is what tor sends, fed whole and in input-derived chunks (results must agree).
int fuzz_socks5(const std::uint8_t* data, std::size_t size);
// Extended ORPort client: with data[0] odd, a valid authentication prefix built from data[1..33] as the
// server nonce is put before the rest, so the command stage is reached.
int fuzz_ext_or(const std::uint8_t* data, std::size_t size);
// PT environment: KEY=VALUE lines; with data[0] odd they override a valid client+server environment.
int fuzz_environment(const std::uint8_t* data, std::size_t size);
// The three argument dialects: parsing arbitrary text, and format/parse round trips.
int fuzz_args(const std::uint8_t* data, std::size_t size);
// Stdout lines: whatever the text, one call writes one line with no control characters.
int fuzz_messages(const std::uint8_t* data, std::size_t size);

}  // namespace hoplink::fuzz
