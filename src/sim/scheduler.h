// The simulator's discrete-event scheduler: one queue of callbacks keyed by
// (time, sequence), so two events at the same time run in the order they were
// scheduled — a run is a function of its seed alone. Single-threaded; the clock
// is simulated time only (it starts at `t0`, never at zero, and reads no OS clock).
#pragma once

#include "core/time.h"

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

namespace openstreaming::sim {

class Scheduler {
public:
  explicit Scheduler(Timestamp t0) : m_t0(t0), m_now(t0) {}

  // Runs `fn` at `t` (a time already past runs next, in scheduling order).
  void at(Timestamp t, std::function<void()> fn) { m_queue.push(Ev{t, m_seq++, std::move(fn)}); }
  // Runs the next event if it is due by `end` and says whether one ran (the
  // clock then reads its time).
  bool run_next(Timestamp end) {
    if (m_queue.empty() || m_queue.top().t > end) return false;
    // Moving the top out is safe: pop() orders by (t, seq), which stay intact.
    Ev ev = std::move(const_cast<Ev&>(m_queue.top()));
    m_queue.pop();
    m_now = ev.t;
    ++m_events;
    ev.fn();
    return true;
  }
  // Runs every event up to and including `end`, then sets the clock to `end`.
  void run_until(Timestamp end) {
    while (run_next(end)) {
    }
    m_now = end;
  }
  // Sets the clock to `t` without running anything (after run_next found nothing due by `t`).
  void advance_to(Timestamp t) { m_now = t; }

  Timestamp now() const { return m_now; }
  Timestamp t0() const { return m_t0; }
  double seconds(Timestamp t) const { return to_seconds(t - m_t0); } // since the start of the run
  uint64_t events() const { return m_events; }                       // run so far

private:
  struct Ev {
    Timestamp t;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Ev& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  std::priority_queue<Ev, std::vector<Ev>, std::greater<>> m_queue;
  uint64_t m_seq = 0;
  uint64_t m_events = 0;
  Timestamp m_t0, m_now;
};

} // namespace openstreaming::sim
