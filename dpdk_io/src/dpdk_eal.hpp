// The process-wide DPDK state behind one object: the EAL (initialised at most once per process) and the
// mbuf pools. Private to the dpdk_io_dpdk target.
#pragma once

#include <rte_mempool.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace hoplink::dio::detail {

class Eal {
 public:
  // The EAL, initialised with `args` by the first call. Later calls must pass the same args (or none);
  // a failed initialisation cannot be retried in this process and keeps failing with the first message.
  static Result<Eal*, std::string> get(const std::vector<std::string>& args);

  // A packet mbuf pool of `count` mbufs with `data_room` bytes each. Pools are never freed: a port's
  // mbufs can outlive the port (held by a peer port on a ring link, or in a ring), so a closed port hands its
  // pool back with release_pool() and a later port reuses it once every mbuf has come home.
  Result<rte_mempool*, std::string> acquire_pool(std::size_t count, std::uint16_t data_room, int socket);
  void release_pool(rte_mempool* pool);

  // A process-unique name for pools, rings and ports ("<prefix><n>"); DPDK names are global and short.
  std::string unique_name(std::string_view prefix);

 private:
  Eal() = default;

  struct Pool {
    rte_mempool* pool = nullptr;
    std::size_t count = 0;
    std::uint16_t data_room = 0;
    bool in_use = false;
  };
  std::vector<Pool> pools_;
  std::uint64_t next_name_ = 0;
};

}  // namespace hoplink::dio::detail
