// Boost.Asio, included the one way this project does it (Boost 1.74 needs <utility> first).
#pragma once

#include <utility>
// clang-format off
#include <boost/asio.hpp>
// clang-format on

namespace hoplink::transport {
namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
}  // namespace hoplink::transport
