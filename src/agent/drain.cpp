#include "agent/drain.h"

namespace openstreaming::agent {

void drain(Node& node, NodeSink& sink) {
  Payments& payments = node.payments();
  while (auto op = payments.poll_store_op()) sink.persist(*op);
  if (auto batch = payments.take_redemption(); !batch.empty()) sink.redeem(std::move(batch));
  while (auto t = node.poll_transmit()) sink.transmit(std::move(*t));
  while (auto a = node.poll_action()) {
    if (auto* c = std::get_if<ConnectRequest>(&*a))
      sink.connect(*c);
    else
      sink.close(std::get<CloseRequest>(*a));
  }
  while (auto e = node.poll_event()) sink.event(std::move(*e));
  if (node.take_snapshot_due()) sink.save_memory();
  if (auto t = node.poll_timeout()) sink.wake_at(*t);
}

} // namespace openstreaming::agent
