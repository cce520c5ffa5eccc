#include "sim/topology.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace openstreaming::sim {

std::vector<std::vector<uint32_t>> Graph::adjacency() const {
  std::vector<std::vector<uint32_t>> adj(n);
  for (auto [a, b] : edges) {
    adj[a].push_back(b);
    adj[b].push_back(a);
  }
  return adj;
}

bool Graph::connected() const {
  if (n == 0) return true;
  auto adj = adjacency();
  std::vector<char> seen(n, 0);
  std::vector<uint32_t> stack{0};
  seen[0] = 1;
  std::size_t count = 1;
  while (!stack.empty()) {
    uint32_t v = stack.back();
    stack.pop_back();
    for (uint32_t w : adj[v]) {
      if (!seen[w]) {
        seen[w] = 1;
        ++count;
        stack.push_back(w);
      }
    }
  }
  return count == n;
}

namespace {

double unit(core::RandomSource& rng) {
  return static_cast<double>(rng.next_u64() >> 11) / 9007199254740992.0;
}

// Joins components by linking a random node of each to a random node of the first.
void join_up(Graph& g, core::RandomSource& rng) {
  auto adj = g.adjacency();
  std::vector<int> comp(g.n, -1);
  std::vector<std::vector<uint32_t>> comps;
  for (uint32_t s = 0; s < g.n; ++s) {
    if (comp[s] >= 0) continue;
    comps.emplace_back();
    std::vector<uint32_t> stack{s};
    comp[s] = static_cast<int>(comps.size() - 1);
    while (!stack.empty()) {
      uint32_t v = stack.back();
      stack.pop_back();
      comps.back().push_back(v);
      for (uint32_t w : adj[v]) {
        if (comp[w] < 0) {
          comp[w] = comp[s];
          stack.push_back(w);
        }
      }
    }
  }
  for (std::size_t c = 1; c < comps.size(); ++c) {
    uint32_t a = comps[0][rng.uniform(comps[0].size())], b = comps[c][rng.uniform(comps[c].size())];
    g.edges.emplace_back(std::min(a, b), std::max(a, b));
  }
}

} // namespace

Result<Graph> make_graph(const std::string& topology, std::size_t n, std::size_t degree, core::RandomSource& rng) {
  if (n < 2 || degree < 1 || degree >= n)
    return make_error(Errc::invalid_input, "graph: need 2 <= n and 1 <= degree < n");
  Graph g;
  g.n = n;
  std::set<std::pair<uint32_t, uint32_t>> set;
  auto add = [&](uint32_t a, uint32_t b) {
    if (a == b) return false;
    auto e = std::make_pair(std::min(a, b), std::max(a, b));
    return set.insert(e).second;
  };
  if (topology == "random-regular") {
    // Pairing model: n × degree stubs matched at random; a pairing with a loop or
    // a double edge is mostly repaired by re-pairing the bad stubs a few times.
    if ((n * degree) % 2) return make_error(Errc::invalid_input, "random-regular: nodes × degree must be even");
    for (int attempt = 0; attempt < 50; ++attempt) {
      set.clear();
      std::vector<uint32_t> stubs;
      for (uint32_t v = 0; v < n; ++v) stubs.insert(stubs.end(), degree, v);
      for (int round = 0; round < 100 && !stubs.empty(); ++round) {
        for (std::size_t i = stubs.size(); i > 1; --i) std::swap(stubs[i - 1], stubs[rng.uniform(i)]);
        std::vector<uint32_t> left;
        for (std::size_t i = 0; i + 1 < stubs.size(); i += 2) {
          if (!add(stubs[i], stubs[i + 1])) {
            left.push_back(stubs[i]);
            left.push_back(stubs[i + 1]);
          }
        }
        stubs = std::move(left);
      }
      g.edges.assign(set.begin(), set.end());
      if (stubs.size() <= n / 100 + 2 && g.connected()) break; // a handful of nodes one short is fine
    }
  } else if (topology == "geometric") {
    g.position.resize(n);
    for (auto& p : g.position) p = {unit(rng), unit(rng)};
    // Grid buckets make the k-nearest search cheap for 100k points.
    std::size_t side = std::max<std::size_t>(1, static_cast<std::size_t>(std::sqrt(static_cast<double>(n) / 4)));
    std::vector<std::vector<uint32_t>> cell(side * side);
    auto cell_of = [&](double x) {
      return std::min(side - 1, static_cast<std::size_t>(x * static_cast<double>(side)));
    };
    for (uint32_t v = 0; v < n; ++v)
      cell[cell_of(g.position[v].second) * side + cell_of(g.position[v].first)].push_back(v);
    for (uint32_t v = 0; v < n; ++v) {
      std::vector<std::pair<double, uint32_t>> near;
      std::size_t cx = cell_of(g.position[v].first), cy = cell_of(g.position[v].second);
      for (std::size_t r = 1; near.size() < degree + 1 && r <= side; ++r) {
        near.clear();
        for (std::size_t y = cy >= r ? cy - r : 0; y <= std::min(side - 1, cy + r); ++y) {
          for (std::size_t x = cx >= r ? cx - r : 0; x <= std::min(side - 1, cx + r); ++x) {
            for (uint32_t w : cell[y * side + x]) {
              if (w == v) continue;
              double dx = g.position[v].first - g.position[w].first, dy = g.position[v].second - g.position[w].second;
              near.emplace_back(dx * dx + dy * dy, w);
            }
          }
        }
      }
      std::sort(near.begin(), near.end());
      for (std::size_t k = 0; k < std::min(degree, near.size()); ++k) add(v, near[k].second);
    }
    g.edges.assign(set.begin(), set.end());
    join_up(g, rng);
  } else if (topology == "barabasi-albert") {
    std::size_t m = std::max<std::size_t>(1, degree / 2);
    std::vector<uint32_t> ends; // every edge end: picking one is picking by degree
    for (uint32_t v = 0; v <= m; ++v) {
      for (uint32_t w = 0; w < v; ++w) {
        add(v, w);
        ends.push_back(v);
        ends.push_back(w);
      }
    }
    for (uint32_t v = static_cast<uint32_t>(m + 1); v < n; ++v) {
      std::size_t made = 0;
      for (int tries = 0; made < m && tries < 100; ++tries) {
        uint32_t w = ends[rng.uniform(ends.size())];
        if (add(v, w)) {
          ends.push_back(v);
          ends.push_back(w);
          ++made;
        }
      }
    }
    g.edges.assign(set.begin(), set.end());
  } else {
    return make_error(Errc::invalid_input, "unknown topology '" + topology + "'");
  }
  if (!g.connected()) join_up(g, rng);
  return g;
}

} // namespace openstreaming::sim
