// The window of recent parts a node holds per stream, keyed by (rendition,
// segment, part), and the HLS media playlist over one rendition of it
// (docs/architecture.md).
//
// A stream's renditions (the broadcaster's "source" and any transcoded ones)
// share one window: each rendition keeps its own kSegments newest segments,
// and all of them together at most kMaxBytes of payload (the oldest segment
// of any rendition goes first; each rendition's newest segment always stays,
// so a player has something to start from). Parts of two renditions with the
// same (segment, part) are different parts: both are stored and served.
//
// No I/O.
#pragma once

#include "core/frame.h"
#include "core/part.h"

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace openstreaming::agent {

// The rendition the broadcaster publishes (what ingest produces, untranscoded).
inline constexpr std::string_view kSourceRendition = "source";

// One part of one rendition of a stream. Ordered by rendition, then segment, then part.
struct PartKey {
  std::string rendition;
  uint64_t segment = 0;
  uint32_t part = 0;
  auto operator<=>(const PartKey&) const = default;
  bool operator==(const PartKey&) const = default;
};

inline PartKey key_of(const core::PartInfo& info) {
  return PartKey{info.rendition, info.segment, info.part};
}

struct StoredPart {
  core::PartInfo info;
  core::SharedSlice payload;
  std::shared_ptr<const Bytes> header; // the signed PartHeader as received, to answer a Fetch
};

struct Segment {
  uint64_t sequence = 0;
  std::map<uint32_t, StoredPart> parts;
  bool complete = false; // a later segment started, or the stream ended
  double duration_s() const;
};

// One rendition's segments, by sequence number.
using Segments = std::map<uint64_t, Segment>;

class SegmentWindow {
public:
  static constexpr std::size_t kSegments = 12;       // per rendition
  static constexpr uint64_t kMaxBytes = 48ull << 20; // over all renditions (12 x 2 s at 16 Mbit/s)

  enum class Stored {
    fresh,   // stored in time
    late,    // stored, but for a segment already complete
    too_old, // older than every segment held of its rendition: not stored, nothing changed
  };
  // Stores `p` (a part with the same key replaces the one held) and marks the
  // segments it closes complete: an independent part completes the earlier
  // segments of its rendition, an end-of-stream part all of them. An
  // end-of-stream part without payload is not stored.
  Stored store(const StoredPart& p);
  // Marks every segment of every rendition complete (the stream ended).
  void complete_all();

  // `rendition`'s segments (empty if none held).
  const Segments& segments(std::string_view rendition) const;
  const StoredPart* find(const PartKey& key) const;
  // The oldest segment held of `rendition`, nullopt if none.
  std::optional<uint64_t> oldest(std::string_view rendition) const;
  std::vector<std::string> renditions() const;
  bool empty() const { return m_renditions.empty(); }
  uint64_t bytes() const { return m_bytes; } // payload bytes held

private:
  void drop_oldest(Segments& segments);

  std::map<std::string, Segments, std::less<>> m_renditions; // never holds an empty Segments
  uint64_t m_bytes = 0;
};

// HLS (RFC 8216) media playlist with Low-Latency HLS partial segments over one
// rendition's segments; nullopt while no whole segment is complete. `ended`
// closes it with #EXT-X-ENDLIST.
std::optional<std::string> hls_playlist(const Segments& segments, bool ended);

} // namespace openstreaming::agent
