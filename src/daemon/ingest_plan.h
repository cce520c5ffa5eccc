// What a broadcasting node ingests, from its configuration (docs/config.md,
// docs/media.md): `--ingest SOURCE` (testsrc, a file or a URL FFmpeg opens),
// or a listener for a pushed stream, `--rtmp-listen` or `--srt-listen`.
// No I/O: this decides the media::IngestOptions; the caller starts the Ingest.
#pragma once

#include "daemon/node_config.h"
#include "media/ingest.h"

namespace openstreaming::daemon {

// True when the node broadcasts: any of ingest, rtmp_listen, srt_listen is set
// (to_node_options refuses more than one, and any without a stream name).
bool is_broadcasting(const NodeConfig& config);

struct IngestPlan {
  media::IngestOptions options;
  // A push listener (RTMP, SRT) must survive a bad or vanished publisher: on an
  // ingest error the node logs it and listens again instead of ending the stream.
  bool listen_again_on_error = false;
};

// The ingest of a broadcasting node (is_broadcasting(config)). `stream_key` is
// the publishers' secret (--stream-key-file, already read and checked), or empty:
//  - rtmp_listen HOST:PORT: rtmp://HOST:PORT/live/STREAM, FFmpeg listening, not
//    paced; the ingest refuses a push without the key (IngestOptions::stream_key);
//  - srt_listen HOST:PORT: srt://HOST:PORT?mode=listener, not paced; the key is
//    the SRT passphrase;
//  - ingest SOURCE: read as given, paced to media time for testsrc and files
//    (anything without "://"), not for URLs (a live source paces itself).
IngestPlan ingest_plan(const NodeConfig& config, const std::string& stream_key = {});

} // namespace openstreaming::daemon
