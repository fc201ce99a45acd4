#include "dpdk_eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "dpdk_io/dpdk_port.hpp"

namespace hoplink::dio::detail {
namespace {

// What the one rte_eal_init() of this process did.
struct EalState {
  bool attempted = false;
  std::vector<std::string> args;
  std::string error;  // empty on success
  std::unique_ptr<Eal> eal;
};

EalState& state() {
  static EalState instance;
  return instance;
}

// Per-lcore mbuf cache: a few bursts, and at most what rte_mempool_create accepts for the pool's size.
constexpr std::size_t kPoolCache = 256;

}  // namespace

Result<Eal*, std::string> Eal::get(const std::vector<std::string>& args) {
  EalState& eal = state();
  if (eal.attempted) {
    if (!eal.error.empty()) return fail("DPDK EAL initialisation failed earlier: " + eal.error);
    if (!args.empty() && args != eal.args) {
      return fail(std::string("DPDK EAL already initialised with other arguments (once per process)"));
    }
    return eal.eal.get();
  }
  eal.attempted = true;
  eal.args = args;
  // rte_eal_init() may keep pointers into argv and reorders it: give it storage that lives for the process.
  static std::vector<std::string> storage;
  static std::vector<char*> argv;
  storage.clear();
  storage.push_back("hoplink");
  storage.insert(storage.end(), args.begin(), args.end());
  for (std::string& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(storage.size()), argv.data()) < 0) {
    eal.error = std::string("rte_eal_init: ") + rte_strerror(rte_errno);
    return fail(eal.error);
  }
  eal.eal.reset(new Eal());
  return eal.eal.get();
}

Result<rte_mempool*, std::string> Eal::acquire_pool(std::size_t count, std::uint16_t data_room, int socket) {
  for (Pool& pool : pools_) {
    if (pool.in_use || pool.count != count || pool.data_room != data_room) continue;
    if (rte_mempool_avail_count(pool.pool) != pool.pool->size) continue;  // mbufs still out there
    pool.in_use = true;
    return pool.pool;
  }
  const std::string name = unique_name("hlpool");
  rte_mempool* created =
      rte_pktmbuf_pool_create(name.c_str(), static_cast<unsigned>(count),
                              static_cast<unsigned>(std::min(kPoolCache, count / 4)), 0, data_room, socket);
  if (created == nullptr) {
    return fail("rte_pktmbuf_pool_create(" + std::to_string(count) + " mbufs): " + rte_strerror(rte_errno));
  }
  pools_.push_back({created, count, data_room, true});
  return created;
}

void Eal::release_pool(rte_mempool* pool) {
  for (Pool& entry : pools_) {
    if (entry.pool == pool) entry.in_use = false;
  }
}

std::string Eal::unique_name(std::string_view prefix) {
  return std::string(prefix) + std::to_string(next_name_++);
}

}  // namespace hoplink::dio::detail

namespace hoplink::dio {

Result<void, std::string> init_dpdk_eal(const std::vector<std::string>& eal_args) {
  auto eal = detail::Eal::get(eal_args);
  if (!eal.ok()) return fail(eal.error());
  return {};
}

}  // namespace hoplink::dio
