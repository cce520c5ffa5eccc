// A simulation scenario (docs/simulation.md): the TOML file
// `openstreaming sim SCENARIO.toml` reads. Keys are exact; unknown keys are
// errors, so a typo never silently runs a different experiment.
#pragma once

#include "core/result.h"

#include <cstdint>
#include <string>
#include <vector>

namespace openstreaming::sim {

struct Adversary {
  double fraction = 0;  // of all nodes (never the broadcasters)
  std::string behavior; // drop, delay, corrupt, lie-capacity, overprice, free-ride, covert-flash, sybil
  double param = 0;     // drop/corrupt: probability; delay: ms; lie-capacity/overprice: factor
  double start_s = 0;
};

// [payments]: every hop paid per byte with real tickets against the embedded
// ledger's state machine (src/sim/sim_ledger.h). Off unless enabled.
struct PaymentScenario {
  bool enabled = false;
  std::string deposit = "1ether";       // each payer's ticket deposit
  std::string reserve = "1ether";       // and reserve
  std::string redeem_cost = "0.05gwei"; // a ticket's face value is 100x this (sized for the sim's ~1 gwei/MB quotes)
  uint64_t ticket_kb = 256;             // one ticket's expected value pays for this much
  uint64_t block_ms = 1000;             // the ledger's block interval
  uint64_t round_blocks = 10;           // blocks per round (tickets are issued per round)
};

struct Scenario {
  uint64_t seed = 7;
  double duration_s = 120;
  // [network]
  uint64_t nodes = 1000;
  std::string topology = "random-regular"; // geometric, barabasi-albert
  uint64_t degree = 8;
  double latency_ms[2] = {10, 80};
  double bandwidth_mbps[2] = {20, 100};
  double loss = 0.001;
  // [stream]
  uint64_t broadcasters = 1;
  double bitrate_kbps = 3000;
  double segment_s = 2.0;
  double part_s = 0.5;
  double playout_delay_s = 3.0; // a part is "played by its deadline" if it arrived within this of its ingest
  // [viewers]
  double viewer_fraction = 0.8;
  double join_spread_s = 10; // viewers join uniformly over the first this-many seconds (0: all at once)
  // [strategy]
  std::string strategy = "agent"; // random, latency, gossip, stake-weighted
  std::vector<Adversary> adversaries;
  // [churn]
  double leave_per_min = 0; // fraction of nodes leaving (and rejoining after rejoin_s) per minute
  double rejoin_s = 30;
  // [crypto] real: every part's hash and signature checked at every hop; cost-model:
  // parts are checked by identity (the simulator knows each original), signatures
  // of handshakes, states and announcements stay real.
  std::string crypto = "cost-model";
  PaymentScenario payments;
  bool dual_feed = true; // [strategy] dual_feed: the agent's dual feed (docs/agent.md); baselines never use it
  // [strategy] adapt_topology: the agent's local topology adaptation (docs/agent.md), with peer exchange and
  // links made on demand to the nodes it dials; baselines keep the graph they were given.
  bool adapt_topology = false;
  bool learn_weights = false; // [strategy] learn_weights: the route score's weights adapt from outcomes (docs/agent.md)
  std::string name;          // from the file name

  static Result<Scenario> parse(const std::string& toml_text, const std::string& source_name);
  Result<void> validate() const;
};

} // namespace openstreaming::sim
