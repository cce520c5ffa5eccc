// Graphs for the simulator : undirected, connected, no self-loops or
// double edges, deterministic for a seed. No I/O.
//   random-regular   every node has `degree` neighbours (configuration model, retried)
//   geometric        nodes at random points of the unit square, each linked to its
//                    `degree` nearest (so latency can follow distance), then joined up
//   barabasi-albert  preferential attachment, degree/2 links per new node (hubs)
#pragma once

#include "core/random.h"
#include "core/result.h"

#include <string>
#include <utility>
#include <vector>

namespace openstreaming::sim {

struct Graph {
  std::size_t n = 0;
  std::vector<std::pair<uint32_t, uint32_t>> edges; // a < b
  std::vector<std::pair<double, double>> position;  // geometric only
  std::vector<std::vector<uint32_t>> adjacency() const;
  bool connected() const;
};

Result<Graph> make_graph(const std::string& topology, std::size_t n, std::size_t degree, core::RandomSource& rng);

} // namespace openstreaming::sim
