// The node's output contract: what a driver takes from a Node after every
// input, and the one order it takes it in. The daemon's runtime (src/net), the
// simulator (src/sim) and the tests' in-memory network all drain through
// drain(), so a new output or a change of order is made once, here.
//
//   1. persist   every winning-ticket store operation, before anything else
//                leaves: a crash after a frame went out must not lose a winner
//                that frame's bytes paid for.
//   2. redeem    a batch of winners due for redemption (at most one in flight;
//                the driver reports the outcome with payments().on_redeemed()).
//   3. transmit  frames to write, per connection in order (handle_sent() reports
//                the bytes written).
//   4. connect / close requests; transmits come first so a Disconnect frame is
//                queued before the close that follows it.
//   5. event     for logs and APIs.
//   6. save_memory when the memory snapshot is due (the driver persists
//                node.agent().memory; a driver without storage ignores it).
//   7. wake_at   the next time to call handle_timeout().
//
// Thread safety: as Node's (one thread drives both).
#pragma once

#include "agent/node.h"

namespace openstreaming::agent {

class NodeSink {
public:
  virtual ~NodeSink() = default;
  virtual void persist(const Payments::StoreOp& op) { (void)op; }
  virtual void redeem(std::vector<pay::Winner> batch) { (void)batch; }
  virtual void transmit(Transmit t) = 0;
  virtual void connect(const ConnectRequest& c) = 0;
  virtual void close(const CloseRequest& c) = 0;
  virtual void event(Event e) { (void)e; }
  virtual void save_memory() {}
  virtual void wake_at(Timestamp at) = 0;
};

// Takes every output `node` has now, in the order above (a node without
// payments has no store operations or batches; they are polled all the same).
void drain(Node& node, NodeSink& sink);

} // namespace openstreaming::agent
