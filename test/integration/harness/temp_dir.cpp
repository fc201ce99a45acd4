#include "temp_dir.hpp"

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

namespace hoplink::itest {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/hoplink-it-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (keep_ || std::getenv("HOPLINK_IT_KEEP")) {
    std::cerr << "kept " << path_ << "\n";
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace hoplink::itest
