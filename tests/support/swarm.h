// Building blocks for media tests on the in-memory network: a node dialling
// only the one before it (a line), publishing 0.5 s parts of 2-second
// segments, and finding a node's connection to another.
#pragma once

#include "agent/node.h"
#include "support/mem_network.h"

#include <optional>
#include <string>

namespace openstreaming::test {

// Options for a node that dials only `prev` (when set) and exchanges no peers,
// so the overlay is exactly the line or tree the test builds.
agent::NodeOptions line_options(std::optional<std::size_t> prev);

// Adds `n` nodes in a line 0 - 1 - ... - n-1 (each dials the one before it).
// Returns the index of the first.
std::size_t add_line(MemNetwork& net, std::size_t n);

// The description of part `part` (0.5 s, four to a 2-second segment) of
// segment `seg`, stamped with `b`'s wall clock now.
core::PartInfo part_info(MemNetwork& net, std::size_t b, const core::StreamId& id, uint64_t seg, uint32_t part,
                         const std::string& rendition = "source");

// Publishes `info` from node `b` with `size` bytes of `fill` as its payload.
void publish(MemNetwork& net, std::size_t b, const core::PartInfo& info, std::size_t size, uint8_t fill);

// Publishes the end-of-stream marker as segment `seg` from node `b`.
void publish_end(MemNetwork& net, std::size_t b, const core::StreamId& id, uint64_t seg);

// `from`'s connection to `to` (a test failure and 0 when they are not connected).
agent::ConnId conn_to(MemNetwork& net, std::size_t from, std::size_t to);
bool linked(MemNetwork& net, std::size_t from, std::size_t to);

} // namespace openstreaming::test
