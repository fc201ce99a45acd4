// The hoplink program: managed mode (launched by tor) and the unmanaged client/server modes.
#pragma once

namespace hoplink::transport {

// Runs hoplink as main() would, with the process environment envp. Returns the exit status.
int run_hoplink(int argc, char** argv, char** envp);

}  // namespace hoplink::transport
