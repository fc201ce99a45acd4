// The soak's table (one row per transport per sample) and its verdict.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "world.hpp"

namespace hoplink::soak {

class Report {
 public:
  explicit Report(std::ostream& out) : out_(out) {}
  void header();
  // `label` is the minute (or "end").
  void row(const std::string& label, const World& world, const std::vector<ProcessSample>& samples,
           const Tally& period, const std::vector<std::string>& events);

  // Growth of the stable processes: the mean of the last third of the samples against the second third
  // (the first third is warm-up). Empty when nothing grew; a line per process that did otherwise.
  std::vector<std::string> growth() const;
  // Whether there were enough samples to judge growth at all (six).
  bool growth_judged() const;
  // Processes whose last sample, taken after every link had ended, still counted open links.
  std::vector<std::string> lingering() const { return lingering_; }
  void last_samples(const World& world, const std::vector<ProcessSample>& samples);

 private:
  struct Series {
    std::vector<double> rss;  // MiB
    std::vector<double> fds;
  };
  std::ostream& out_;
  std::map<std::string, Series> series_;  // "sctp bridge-s" ...
  std::vector<std::string> lingering_;
};

}  // namespace hoplink::soak
