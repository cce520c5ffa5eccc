#include "daemon/ingest_plan.h"

namespace openstreaming::daemon {

bool is_broadcasting(const NodeConfig& c) {
  return !c.ingest.empty() || !c.rtmp_listen.empty() || !c.srt_listen.empty();
}

IngestPlan ingest_plan(const NodeConfig& c, const std::string& stream_key) {
  IngestPlan plan;
  media::IngestOptions& io_opts = plan.options;
  if (!c.rtmp_listen.empty()) {
    io_opts.source = "rtmp://" + c.rtmp_listen + "/live/" + c.stream;
    io_opts.input_options["listen"] = "1";
    io_opts.stream_key = stream_key;
    io_opts.realtime = false;
    io_opts.push = true;
  } else if (!c.srt_listen.empty()) {
    io_opts.source = "srt://" + c.srt_listen + "?mode=listener";
    if (!stream_key.empty()) io_opts.input_options["passphrase"] = stream_key;
    io_opts.realtime = false;
    io_opts.push = true;
  } else {
    io_opts.source = c.ingest;
    io_opts.realtime = c.ingest == "testsrc" || c.ingest.find("://") == std::string::npos;
  }
  plan.listen_again_on_error = !c.rtmp_listen.empty() || !c.srt_listen.empty();
  return plan;
}

} // namespace openstreaming::daemon
