// A fresh directory under $TMPDIR (or /tmp) removed at the end of the test, unless HOPLINK_IT_KEEP is set
// (then its path is printed, for looking at hoplink's stderr files after a failure).
#pragma once

#include <filesystem>

namespace hoplink::itest {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& p) const { return path_ / p; }
  // Leave the directory in place at the end (a failed soak keeps its processes' output), and say where.
  void keep() { keep_ = true; }

 private:
  std::filesystem::path path_;
  bool keep_ = false;
};

}  // namespace hoplink::itest
