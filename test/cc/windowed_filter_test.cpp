#include "windowed_filter.hpp"

#include <catch2/catch.hpp>
#include <cstdint>

namespace hoplink::cc {
namespace {

TEST_CASE("windowed max keeps the best sample while it is in the window") {
  WindowedMaxFilter<std::uint64_t> filter(10);
  CHECK(filter.update(100, 0) == 100);
  CHECK(filter.update(50, 3) == 100);
  CHECK(filter.update(70, 9) == 100);
  CHECK(filter.update(120, 9) == 120);  // a better sample takes over at once
}

TEST_CASE("windowed max expires an old best and falls back to the younger samples") {
  WindowedMaxFilter<std::uint64_t> filter(10);
  filter.update(100, 0);
  filter.update(80, 4);
  filter.update(60, 7);
  CHECK(filter.best() == 100);
  // At time 10 the sample of time 0 is out of the window; the best of the rest is 80 (time 4).
  CHECK(filter.update(10, 10) == 80);
  // At 14, 80 has aged out too: 60 (time 7) is next.
  CHECK(filter.update(10, 14) == 60);
  // Everything old is gone: only the newest sample is left.
  CHECK(filter.update(5, 40) == 5);
}

TEST_CASE("windowed max over two ProbeBW cycles covers the current and the previous one") {
  WindowedMaxFilter<std::uint64_t> filter(2);
  filter.update(1000, 0);                // cycle 0
  CHECK(filter.update(700, 1) == 1000);  // cycle 1: cycle 0 still counts
  CHECK(filter.update(600, 2) == 700);   // cycle 2: cycle 0 is gone, cycle 1 remains
  CHECK(filter.update(500, 3) == 600);
}

TEST_CASE("windowed min tracks the smallest sample and expires it") {
  WindowedMinFilter<std::int64_t> filter(100, 1'000'000);
  CHECK(filter.update(50, 0) == 50);
  CHECK(filter.update(60, 30) == 50);
  CHECK(filter.update(40, 60) == 40);
  CHECK(filter.update(70, 150) == 40);  // 90 old: still in the window
  CHECK(filter.update(80, 161) == 70);  // 40 has aged out; 70 (time 150) was kept as the runner-up
}

}  // namespace
}  // namespace hoplink::cc
