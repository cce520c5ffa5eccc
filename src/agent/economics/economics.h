// Economic module (docs/agent.md): what this node charges, whom
// it serves, and what each relationship owes.
//
//   quote = max(cost x (1 + load/100) x 1.2, 0.9 x mean neighbour quote)   [wei per MB]
//
// cost comes from a configured cost model (bandwidth + CPU, wei per MB
// forwarded). Subscriptions are admitted unless the quote is above the
// subscriber's limit or the upload capacity would be exceeded; the last 10 % of
// capacity is kept for neighbours that say they are short of the stream
// (needy first). Bytes are metered per relationship and valued at the price
// agreed for that relationship, as credit (owed to us) and debt (owed by us);
// payments (docs/payments.md) settle them.
//
// No I/O. Money is core::Amount; the only non-integer inputs are the load
// percentage and the test-only overprice factor, applied in per-mille.
#pragma once

#include "agent/memory/memory.h"

#include <optional>
#include <string>
#include <vector>

namespace openstreaming::agent {

struct EconomicsOptions {
  core::Amount bandwidth_cost_wei_per_mb = core::Amount::from_wei(1'000'000'000); // 1 gwei per MB
  core::Amount cpu_cost_wei_per_mb = core::Amount::from_wei(0);
  uint64_t capacity_kbps = 0;  // upload capacity; 0 = not limited
  double needy_reserve = 0.10; // fraction of capacity kept for needy neighbours
  double overprice = 1.0;      // test/demo misbehaviour: quote x this
};

struct Admission {
  bool accepted = true;
  std::string reason; // price_above_limit | capacity_full
};

class Economics {
public:
  Economics(Memory& memory, EconomicsOptions options) : m_memory(memory), m_o(std::move(options)) {}
  const EconomicsOptions& options() const { return m_o; }
  void set_overprice(double factor) { m_o.overprice = factor; }

  core::Amount cost() const;
  // The mission formula; `load_pct` is our upload load, quotes are the neighbours' latest.
  core::Amount quote(double load_pct, const std::vector<core::Amount>& neighbour_quotes) const;
  // Recomputes and keeps the current quote from memory (self load, neighbours' claims).
  const core::Amount& update_quote();
  const core::Amount& current_quote() const { return m_quote; }
  core::Amount mean_neighbour_quote() const;
  // What an honest node at `load_pct` quotes by the formula, with our cost model
  // and the neighbours' mean (no overprice): the empathy module's fair price.
  core::Amount fair_quote(uint32_t load_pct) const;

  // Whether to serve one more subscriber of a stream of `stream_kbps` while we
  // already send `used_kbps`; `max_price` is the subscriber's limit (none: any).
  Admission admit(const std::optional<core::Amount>& max_price, bool needy, double used_kbps, double stream_kbps) const;

  // Metering: media bytes we served `to` / received `from` and what they are
  // worth. The value comes from the one metering path (Payments: the price
  // agreed for that relationship), so /api/economics and /api/payments never
  // value the same bytes differently. Totals saturate; they never wrap.
  void served(const core::Address& to, uint64_t bytes, const core::Amount& value);
  void received(const core::Address& from, uint64_t bytes, const core::Amount& value);

private:
  Memory& m_memory;
  EconomicsOptions m_o;
  core::Amount m_quote;
};

} // namespace openstreaming::agent
