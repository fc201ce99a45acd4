#include "dpdk_io/datagram_io.hpp"

namespace hoplink::dio {

std::string_view to_string(IoError error) {
  switch (error) {
    case IoError::would_block:
      return "would block";
    case IoError::closed:
      return "closed";
    case IoError::system:
      return "system error";
  }
  return "unknown error";
}

}  // namespace hoplink::dio
