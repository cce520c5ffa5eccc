// Empathy protocol (docs/agent.md): what neighbours say about
// themselves, what we see them do, and whether the two agree.
//
// Every `state_interval` a node sends each peer a signed NeighbourState
// (capacity, load, price quote, needs, per-stream latency, buffer health).
// Observations arrive from the media path (parts on time or not, burst rates,
// invalid parts) and from the peer layer (RTT). The coherence score is the
// mission's rule, each component a threshold on evidence that decays with new
// evidence (memory.h), never a single sample:
//
//   capacity    0.3  observed burst rate >= 0.8 x claimed capacity
//   price       0.3  quote within 20 % of what we expect to pay
//   reliability 0.2  on-time ratio (EWMA, alpha 0.1: ~the last 10-20 parts) >= 0.95
//                    (on time: within its stated latency + RTT + its send queue
//                    at the load it claims + 250 ms)
//   cooperation 0.2  min(requests honoured (alpha 0.2, ~the last 5-10 parts: a
//                        part on time 1, late 0.5, too late to play or missing
//                        0 counted twice), claims-confirmed ratio) >= 0.8
//
// The score is recomputed on every observation, so it is current when the
// router acts and stays what it was once a neighbour stops giving evidence.
//   coherent when score > 0.7
//
// Incoherent for `sustained` (8 s) starts a probation (2 min, doubling per
// episode up to 1 h) during which the neighbour stays "incoherent" whatever
// its score: a good minute does not absolve a cheater, a one-second blip does
// not start one. Hostile acts — invalid parts (3 or more) or a forged state
// message — shun the neighbour (disconnect, refuse) for 10 minutes.
//
// No I/O; time comes in as (monotonic now, wall-clock ms).
#pragma once

#include "agent/memory/memory.h"

#include <functional>

namespace openstreaming::agent {

struct EmpathyOptions {
  double w_capacity = 0.3, w_price = 0.3, w_reliability = 0.2, w_cooperation = 0.2;
  double capacity_ratio = 0.8;
  double price_tolerance = 0.2;
  double reliability_min = 0.95;
  double cooperation_min = 0.8;
  double coherent_above = 0.7;
  double alpha_parts = 0.1;  // ~ the last 10-20 parts (5-10 s of 0.5 s parts)
  double alpha_recent = 0.2; // ~ the last 5-10 parts
  double alpha_claims = 0.2; // ~ the last 5-10 state messages
  double alpha_rate = 0.3;
  uint64_t min_rate_samples = 3;
  Duration on_time_slack = 250ms;  // beyond the upstream's own latency + RTT
  Duration playback_slack = 500ms; // later still (a part's length): too late to play, as bad as missing
  Duration sustained = 8s;
  int64_t probation_ms = 120'000;
  int64_t probation_max_ms = 3'600'000;
  int64_t shun_ms = 600'000;
  uint64_t hostile_invalid_parts = 3;
  // Frames we never asked for (a SubscribeResult without a Subscribe, parts
  // outside a subscription or fetch, ticket parameters while we owe nothing):
  // each is dropped; this many make the neighbour hostile. Not 1: an honest
  // neighbour can race an Unsubscribe with a frame or two already on the wire.
  uint64_t hostile_unsolicited = 32;
  Duration state_interval = 2s;
};

class Empathy {
public:
  Empathy(Memory& memory, EmpathyOptions options) : m_memory(memory), m_o(options) {}
  const EmpathyOptions& options() const { return m_o; }

  // ---- Observations ----
  // A part arrived from `from`, which is our upstream for that stream.
  // `claimed_ms` is its own latency for the stream, if it stated one (without
  // one the part is counted but not judged: true). Returns whether it was on
  // time (the one definition the router's counters use too).
  // `part_ms`: the part's duration (the upstream's send queue is allowed for, at the load it claims).
  bool on_upstream_part(const core::Address& from, double latency_ms, std::optional<double> claimed_ms, double rtt_ms,
                        double part_ms = 0);
  // A part we expected from our upstream `from` never came (repaired or lost).
  void on_upstream_missing(const core::Address& from);
  // The fair price for a neighbour at its claimed load (the economic module's formula).
  void set_fair_price(std::function<core::Amount(uint32_t load_pct)> fair) { m_fair = std::move(fair); }
  // `n` parts charged as missing turned out to be missing upstream of it: undone.
  void on_upstream_excused(const core::Address& from, uint64_t n);
  void on_rate_sample(const core::Address& from, double kbps);
  void on_rtt(const core::Address& from, double rtt_ms);
  // Returns true when the neighbour is now hostile (shun it).
  bool on_invalid_part(const core::Address& from, int64_t now_ms);
  // A state message: `valid` false if its signature did not verify for the
  // session's address (forged: hostile). Returns true when hostile.
  bool on_state(const core::Address& from, const NeighbourClaims& claims, bool valid, int64_t now_ms);
  void on_refused(const core::Address& from);
  // A frame we never asked for. Returns true when the neighbour is now hostile (shun it).
  bool on_unsolicited(const core::Address& from, int64_t now_ms);

  // ---- Judgement ----
  // Recomputes the coherence and status of every neighbour; `expected_price`
  // is what we expect a fair quote to be (our own quote as a reference).
  void evaluate(const core::Amount& expected_price, Timestamp now, int64_t now_ms);
  NeighbourStatus status(const core::Address& a, int64_t now_ms) const;
  static NeighbourStatus status_of(const NeighbourProfile* p, int64_t now_ms); // p: its profile, or null
  bool shunned(const core::Address& a, int64_t now_ms) const;
  double coherence(const core::Address& a) const;

private:
  void shun(NeighbourProfile& p, int64_t now_ms, const std::string& why);
  // Recomputes p.coherence. The price component is judged again only with
  // `reprice` (new claims, evaluate()): a part changes delivery, not prices, and
  // the fair price is a mean over all neighbours (too dear to take per part).
  void rescore(NeighbourProfile& p, bool reprice = true) const;
  Memory& m_memory;
  EmpathyOptions m_o;
  core::Amount m_expected;                      // the fair price, as of the last evaluate()
  std::function<core::Amount(uint32_t)> m_fair; // fair quote at a neighbour's claimed load (set by Agent)
};

} // namespace openstreaming::agent
