// DpdkRingLink: Ethernet links made of rte_rings (net_ring ethdevs) for tests and loopback use.
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstring>

#include "dpdk_eal.hpp"
#include "dpdk_io/dpdk_port.hpp"

namespace hoplink::dio {
namespace {

constexpr std::string_view kPrefix = "net_ring_";
constexpr unsigned kRingSize = 1024;
constexpr std::size_t kRawPoolSize = 2047;
constexpr std::uint16_t kRawDataRoom = RTE_MBUF_DEFAULT_BUF_SIZE;

}  // namespace

struct DpdkRingLink::Impl {
  detail::Eal* eal = nullptr;
  rte_ring* a_to_b = nullptr;
  rte_ring* b_to_a = nullptr;
  std::vector<std::uint16_t> ports;
  rte_mempool* raw_pool = nullptr;  // raw end only

  ~Impl() {
    for (std::uint16_t port : ports) {
      if (rte_eth_dev_is_valid_port(port)) rte_eth_dev_close(port);
    }
    for (rte_ring* ring : {a_to_b, b_to_a}) {
      if (ring == nullptr) continue;
      void* mbuf = nullptr;
      while (rte_ring_dequeue(ring, &mbuf) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(mbuf));
      rte_ring_free(ring);
    }
    if (raw_pool != nullptr) eal->release_pool(raw_pool);
  }
};

DpdkRingLink::DpdkRingLink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DpdkRingLink::~DpdkRingLink() = default;

Result<std::unique_ptr<DpdkRingLink>, std::string> DpdkRingLink::create(
    const std::vector<std::string>& eal_args, const std::string& name_a, const std::string& name_b) {
  auto eal = detail::Eal::get(eal_args);
  if (!eal.ok()) return fail(eal.error());
  auto impl = std::make_unique<Impl>();
  impl->eal = *eal;
  for (rte_ring** ring : {&impl->a_to_b, &impl->b_to_a}) {
    const std::string name = impl->eal->unique_name("hlring");
    *ring = rte_ring_create(name.c_str(), kRingSize, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (*ring == nullptr) return fail("rte_ring_create: " + std::string(rte_strerror(rte_errno)));
  }
  // rte_eth_from_rings(x) creates the vdev and ethdev "net_ring_x": pass the part after that prefix.
  for (const std::string* name : {&name_a, &name_b}) {
    if (!name->empty() && name->rfind(kPrefix, 0) != 0)
      return fail("ring port name '" + *name + "' must start with net_ring_");
  }
  const int a = rte_eth_from_rings(name_a.substr(kPrefix.size()).c_str(), &impl->b_to_a, 1, &impl->a_to_b, 1,
                                   SOCKET_ID_ANY);
  if (a < 0) return fail("rte_eth_from_rings(" + name_a + "): " + rte_strerror(rte_errno));
  impl->ports.push_back(static_cast<std::uint16_t>(a));
  if (!name_b.empty()) {
    const int b = rte_eth_from_rings(name_b.substr(kPrefix.size()).c_str(), &impl->a_to_b, 1, &impl->b_to_a,
                                     1, SOCKET_ID_ANY);
    if (b < 0) return fail("rte_eth_from_rings(" + name_b + "): " + rte_strerror(rte_errno));
    impl->ports.push_back(static_cast<std::uint16_t>(b));
  } else {
    auto pool = impl->eal->acquire_pool(kRawPoolSize, kRawDataRoom, SOCKET_ID_ANY);
    if (!pool.ok()) return fail(pool.error());
    impl->raw_pool = *pool;
  }
  return std::unique_ptr<DpdkRingLink>(new DpdkRingLink(std::move(impl)));
}

bool DpdkRingLink::inject(std::span<const std::byte> frame) {
  if (impl_->raw_pool == nullptr) return false;
  rte_mbuf* mbuf = rte_pktmbuf_alloc(impl_->raw_pool);
  if (mbuf == nullptr) return false;
  char* data = rte_pktmbuf_append(mbuf, static_cast<std::uint16_t>(frame.size()));
  if (data == nullptr) {
    rte_pktmbuf_free(mbuf);
    return false;
  }
  if (!frame.empty()) std::memcpy(data, frame.data(), frame.size());
  if (rte_ring_enqueue(impl_->b_to_a, mbuf) != 0) {
    rte_pktmbuf_free(mbuf);
    return false;
  }
  return true;
}

std::vector<std::vector<std::byte>> DpdkRingLink::capture() {
  std::vector<std::vector<std::byte>> frames;
  if (impl_->raw_pool == nullptr) return frames;
  void* object = nullptr;
  while (rte_ring_dequeue(impl_->a_to_b, &object) == 0) {
    auto* mbuf = static_cast<rte_mbuf*>(object);
    std::vector<std::byte>& frame = frames.emplace_back(mbuf->pkt_len);
    // Returns a pointer into the mbuf when the data is contiguous, copies into `frame` otherwise.
    const void* bytes = rte_pktmbuf_read(mbuf, 0, mbuf->pkt_len, frame.data());
    if (bytes != nullptr && bytes != frame.data()) std::memcpy(frame.data(), bytes, frame.size());
    rte_pktmbuf_free(mbuf);
  }
  return frames;
}

}  // namespace hoplink::dio
