#include "fuzz_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return hoplink::fuzz::fuzz_bridge_line(data, size);
}
