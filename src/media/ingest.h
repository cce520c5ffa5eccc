// Ingest: turns a source into MPEG-TS parts and segments, on its own thread.
//
// Sources: "testsrc" (FFmpeg lavfi testsrc2, generated: no media file is ever
// downloaded), a file path, or any URL FFmpeg can open — including an RTMP
// listener (rtmp://HOST:PORT/live/NAME with listen=1) or an SRT listener
// (srt://HOST:PORT?mode=listener) that OBS or ffmpeg push to.
// Video is encoded with libx264 (fixed GOP = segment length, no B-frames,
// zerolatency), so every segment starts with a keyframe and PAT/PMT; parts are
// cut every `part_s` of media time at frame boundaries. The first audio track
// is resampled to 48 kHz stereo and encoded AAC, on the video's clock, and
// interleaved by timestamp before the cut; testsrc gets a synthesised 440 Hz tone.
//
// Thread: "ingest" — FFmpeg calls block (network reads, encoding), so they run
// here and each finished part is handed to `on_part`, which must be cheap and
// thread-safe (the daemon posts it to its event loop). Files and testsrc are
// paced to real time. stop() ends the ingest cleanly: the encoder is flushed,
// the last part and an end-of-stream marker are still delivered.
//
// Errors (on_error, then the thread ends): unopenable input, no video stream,
// no keyframe within 600 video packets, decode/encode failures, and a refused
// publisher (the message starts with kPublishRefused).
//
// Publish authentication (IngestOptions::stream_key): an RTMP listener takes
// only a publisher that presents the key, as the stream name (OBS: server
// rtmp://HOST:PORT/live, stream key KEY) or as rtmp://HOST:PORT/live/NAME?key=KEY.
// FFmpeg's listener accepts any name and tells it only in a warning, which the
// ingest reads from FFmpeg's log callback; the check runs once the publisher
// has connected and sent its name, and a refused one is disconnected before a
// single part is cut. For SRT the caller must use the key as its passphrase
// (AES encryption; 10-79 characters): libsrt rejects any other caller in the
// handshake, before FFmpeg sees it (FFmpeg's SRT listener does not expose the
// caller's streamid), and the listener keeps waiting for the rightful one.
// Those refusals are read from libsrt's log (its handler is set once per
// process; other libsrt messages still go to stderr) and reported through
// IngestOptions::on_refused, so SRT refusals are counted like RTMP ones.
#pragma once

#include "core/bytes.h"

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>

namespace openstreaming::media {

struct IngestOptions {
  std::string source = "testsrc";
  std::map<std::string, std::string> input_options; // passed to avformat_open_input (e.g. listen=1)
  double segment_s = 2.0;
  double part_s = 0.5;
  int width = 640, height = 360, fps = 30; // for testsrc and re-encoding
  int bitrate_kbps = 1500;
  double max_duration_s = 0; // 0: until the source ends (testsrc: forever)
  bool realtime = true;      // pace reading to media time (files, testsrc)
  bool push = false;         // a listener for a publisher (RTMP, SRT): its disconnect ends the broadcast
  std::string stream_key;    // RTMP listener: what a publisher must present (see above); empty: anyone
  // SRT listener: called for each caller libsrt refused for a wrong or missing
  // passphrase, with libsrt's reason. Called on a libsrt thread: must be
  // thread-safe. (An RTMP refusal ends the ingest with kPublishRefused instead.)
  std::function<void(const std::string& why)> on_refused;
};

// How the message of a refused publisher begins.
inline constexpr const char* kPublishRefused = "publish refused: ";

struct IngestedPart {
  uint64_t segment = 0;
  uint32_t part = 0;
  bool independent = false;
  int64_t pts_us = 0;
  uint32_t duration_us = 0;
  int64_t unix_ms = 0; // when it was cut
  Bytes payload;       // MPEG-TS
  bool end_of_stream = false;
};

class Ingest {
public:
  using PartCallback = std::function<void(IngestedPart)>;
  using ErrorCallback = std::function<void(std::string)>; // fatal: the ingest has stopped

  Ingest(IngestOptions options, PartCallback on_part, ErrorCallback on_error);
  ~Ingest(); // stops and joins
  void start();
  void stop();

private:
  void run();
  IngestOptions m_options;
  PartCallback m_on_part;
  ErrorCallback m_on_error;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

} // namespace openstreaming::media
