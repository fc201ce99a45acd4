#include "transport/hoplink.hpp"

int main(int argc, char** argv, char** envp) {
  return hoplink::transport::run_hoplink(argc, argv, envp);
}
