// The three ways hoplink runs. Each prints the PT lines for its mode and runs until told to stop.
#pragma once

#include "app/options.hpp"
#include "pt/environment.hpp"
#include "pt/messages.hpp"

namespace hoplink::transport {

int run_managed(const Options& options, const pt::Environment& environment, pt::Messages& messages);
int run_client(const Options& options, pt::Messages& messages);
int run_server(const Options& options, pt::Messages& messages);

}  // namespace hoplink::transport
