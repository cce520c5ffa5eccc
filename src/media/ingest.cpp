#include "media/ingest.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavdevice/avdevice.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <pthread.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace openstreaming::media {

namespace {

struct Fail : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string av_err(int e) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(e, buf, sizeof(buf));
  return buf;
}

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct InputCloser {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

// The MPEG-TS muxer writing into memory, and the part/segment cutter around it.
class Cutter {
public:
  Cutter(const IngestOptions& o, const AVCodecContext* enc, Ingest::PartCallback& cb) : m_o(o), m_cb(cb) {
    if (avformat_alloc_output_context2(&m_oc, nullptr, "mpegts", nullptr) < 0 || !m_oc) throw Fail("cannot create the MPEG-TS muxer");
    m_buf = static_cast<uint8_t*>(av_malloc(kIoBuffer));
    m_oc->pb = avio_alloc_context(m_buf, kIoBuffer, 1, this, nullptr, &Cutter::write_cb, nullptr);
    if (!m_oc->pb) throw Fail("cannot create the muxer's output");
    m_st = avformat_new_stream(m_oc, nullptr);
    avcodec_parameters_from_context(m_st->codecpar, enc);
    m_st->time_base = AVRational{1, 90000};
    int r = avformat_write_header(m_oc, nullptr);
    if (r < 0) throw Fail("cannot start the MPEG-TS muxer: " + av_err(r));
  }
  ~Cutter() {
    if (m_oc) {
      if (m_oc->pb) {
        av_freep(&m_oc->pb->buffer);
        avio_context_free(&m_oc->pb);
      }
      avformat_free_context(m_oc);
    }
  }

  // `pkt` is in time base `tb`.
  void write(AVPacket* pkt, AVRational tb) {
    int64_t pts = av_rescale_q(pkt->pts, tb, AVRational{1, 1'000'000});
    bool key = pkt->flags & AV_PKT_FLAG_KEY;
    if (!m_started) {
      if (!key) return; // a segment must start with a keyframe
      m_started = true;
      start_segment(pts);
    } else if (key && pts - m_segment_start >= static_cast<int64_t>(m_o.segment_s * 1e6 * 0.9)) {
      emit(pts, false);
      ++m_segment;
      start_segment(pts);
    } else if (pts - m_part_start >= static_cast<int64_t>(m_o.part_s * 1e6) - 1000) {
      emit(pts, false);
      ++m_part;
      m_part_start = pts;
      m_independent = false;
    }
    m_last_pts = pts;
    av_packet_rescale_ts(pkt, tb, m_st->time_base);
    pkt->stream_index = m_st->index;
    int r = av_write_frame(m_oc, pkt);
    if (r < 0) throw Fail("muxing failed: " + av_err(r));
  }

  void finish(int64_t frame_us) {
    if (!m_started) throw Fail("the source produced no decodable video frames (no keyframe?)");
    av_write_trailer(m_oc); // flushes the muxer; it must not be written to again
    m_trailer_written = true;
    emit(m_last_pts + frame_us, false);
    IngestedPart end;
    end.segment = m_segment + 1;
    end.end_of_stream = true;
    end.unix_ms = unix_ms_now();
    m_cb(std::move(end));
  }

private:
  static constexpr int kIoBuffer = 64 << 10;

  static int write_cb(void* opaque, uint8_t* buf, int size) {
    static_cast<Cutter*>(opaque)->m_current.insert(static_cast<Cutter*>(opaque)->m_current.end(), buf, buf + size);
    return size;
  }

  void start_segment(int64_t pts) {
    m_part = 0;
    m_segment_start = m_part_start = pts;
    m_independent = true;
    av_opt_set(m_oc->priv_data, "mpegts_flags", "+resend_headers", 0); // PAT/PMT at the start of every segment
  }

  void emit(int64_t next_pts, bool end) {
    if (!m_trailer_written) av_write_frame(m_oc, nullptr); // flush the muxer's queued PES data
    avio_flush(m_oc->pb);
    if (m_current.empty()) return;
    IngestedPart p;
    p.segment = m_segment;
    p.part = m_part;
    p.independent = m_independent;
    p.pts_us = m_part_start;
    p.duration_us = static_cast<uint32_t>(std::max<int64_t>(0, next_pts - m_part_start));
    p.unix_ms = unix_ms_now();
    p.payload = std::move(m_current);
    p.end_of_stream = end;
    m_current.clear();
    m_cb(std::move(p));
  }

  const IngestOptions& m_o;
  Ingest::PartCallback& m_cb;
  AVFormatContext* m_oc = nullptr;
  AVStream* m_st = nullptr;
  uint8_t* m_buf = nullptr;
  Bytes m_current;
  bool m_started = false;
  bool m_trailer_written = false;
  bool m_independent = true;
  uint64_t m_segment = 0;
  uint32_t m_part = 0;
  int64_t m_segment_start = 0, m_part_start = 0, m_last_pts = 0;
};

int interrupt_cb(void* opaque) { return static_cast<std::atomic<bool>*>(opaque)->load() ? 1 : 0; }

} // namespace

Ingest::Ingest(IngestOptions options, PartCallback on_part, ErrorCallback on_error)
    : m_options(std::move(options)), m_on_part(std::move(on_part)), m_on_error(std::move(on_error)) {}

Ingest::~Ingest() { stop(); }

void Ingest::start() {
  m_thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "ingest");
    run();
  });
}

void Ingest::stop() {
  m_stop = true;
  if (m_thread.joinable()) m_thread.join();
}

void Ingest::run() {
  static std::once_flag once;
  std::call_once(once, [] { avdevice_register_all(); });
  av_log_set_level(AV_LOG_ERROR);
  try {
    const IngestOptions& o = m_options;
    const AVInputFormat* ifmt = nullptr;
    std::string url = o.source;
    int fps = o.fps;
    if (o.source == "testsrc") {
      ifmt = av_find_input_format("lavfi");
      if (!ifmt) throw Fail("FFmpeg has no lavfi input (libavdevice missing)");
      url = "testsrc2=size=" + std::to_string(o.width) + "x" + std::to_string(o.height) + ":rate=" + std::to_string(fps);
    }
    AVDictionary* opts = nullptr;
    for (const auto& [k, v] : o.input_options) av_dict_set(&opts, k.c_str(), v.c_str(), 0);
    AVFormatContext* raw_in = avformat_alloc_context();
    raw_in->interrupt_callback = AVIOInterruptCB{&interrupt_cb, &m_stop};
    int r = avformat_open_input(&raw_in, url.c_str(), ifmt, &opts);
    av_dict_free(&opts);
    if (r < 0) {
      if (m_stop) return;
      throw Fail("cannot open input '" + o.source + "': " + av_err(r));
    }
    std::unique_ptr<AVFormatContext, InputCloser> in(raw_in);
    if ((r = avformat_find_stream_info(in.get(), nullptr)) < 0) throw Fail("cannot read '" + o.source + "': " + av_err(r));
    int vidx = av_find_best_stream(in.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (vidx < 0) throw Fail("'" + o.source + "' has no video stream");
    AVStream* vst = in->streams[vidx];
    const AVCodec* dec = avcodec_find_decoder(vst->codecpar->codec_id);
    if (!dec) throw Fail("no decoder for the video of '" + o.source + "'");
    std::unique_ptr<AVCodecContext, CodecFree> dctx(avcodec_alloc_context3(dec));
    avcodec_parameters_to_context(dctx.get(), vst->codecpar);
    if ((r = avcodec_open2(dctx.get(), dec, nullptr)) < 0) throw Fail("cannot decode '" + o.source + "': " + av_err(r));
    if (o.source != "testsrc") {
      AVRational fr = av_guess_frame_rate(in.get(), vst, nullptr);
      if (fr.num > 0 && fr.den > 0) fps = std::clamp(static_cast<int>(std::lround(av_q2d(fr))), 1, 120);
    }
    int width = o.source == "testsrc" ? o.width : (dctx->width & ~1);
    int height = o.source == "testsrc" ? o.height : (dctx->height & ~1);
    if (width <= 0 || height <= 0) throw Fail("'" + o.source + "' has no usable video size");

    const AVCodec* enc = avcodec_find_encoder_by_name("libx264");
    if (!enc) throw Fail("FFmpeg was built without libx264");
    std::unique_ptr<AVCodecContext, CodecFree> ectx(avcodec_alloc_context3(enc));
    ectx->width = width;
    ectx->height = height;
    ectx->pix_fmt = AV_PIX_FMT_YUV420P;
    ectx->time_base = AVRational{1, fps};
    ectx->framerate = AVRational{fps, 1};
    ectx->gop_size = std::max(1, static_cast<int>(std::lround(o.segment_s * fps)));
    ectx->keyint_min = ectx->gop_size;
    ectx->max_b_frames = 0;
    ectx->bit_rate = int64_t{o.bitrate_kbps} * 1000;
    AVDictionary* eopts = nullptr;
    av_dict_set(&eopts, "preset", "veryfast", 0);
    av_dict_set(&eopts, "tune", "zerolatency", 0);
    av_dict_set(&eopts, "x264-params", "scenecut=0:open-gop=0:threads=1", 0);
    r = avcodec_open2(ectx.get(), enc, &eopts);
    av_dict_free(&eopts);
    if (r < 0) throw Fail("cannot open the H.264 encoder: " + av_err(r));

    Cutter cutter(o, ectx.get(), m_on_part);
    std::unique_ptr<AVPacket, PacketFree> pkt(av_packet_alloc()), out(av_packet_alloc());
    std::unique_ptr<AVFrame, FrameFree> frame(av_frame_alloc()), scaled(av_frame_alloc());
    scaled->format = AV_PIX_FMT_YUV420P;
    scaled->width = width;
    scaled->height = height;
    if (av_frame_get_buffer(scaled.get(), 0) < 0) throw Fail("out of memory");
    SwsContext* sws = nullptr;
    int64_t n = 0;
    const auto wall_start = std::chrono::steady_clock::now();
    const int64_t frame_us = 1'000'000 / fps;
    const int64_t max_frames = o.max_duration_s > 0 ? static_cast<int64_t>(o.max_duration_s * fps) : -1;

    auto drain_encoder = [&] {
      while (avcodec_receive_packet(ectx.get(), out.get()) == 0) {
        cutter.write(out.get(), ectx->time_base);
        av_packet_unref(out.get());
      }
    };
    auto encode = [&](AVFrame* f) {
      if (f) {
        sws = sws_getCachedContext(sws, f->width, f->height, static_cast<AVPixelFormat>(f->format), width, height,
                                   AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr);
        if (!sws) throw Fail("cannot convert the video's pixel format");
        av_frame_make_writable(scaled.get());
        sws_scale(sws, f->data, f->linesize, 0, f->height, scaled->data, scaled->linesize);
        scaled->pts = n++;
        if (o.realtime) std::this_thread::sleep_until(wall_start + std::chrono::microseconds(scaled->pts * frame_us));
        if (avcodec_send_frame(ectx.get(), scaled.get()) < 0) throw Fail("encoding failed");
      } else {
        avcodec_send_frame(ectx.get(), nullptr);
      }
      drain_encoder();
    };
    auto drain_decoder = [&] {
      while (avcodec_receive_frame(dctx.get(), frame.get()) == 0) {
        if (max_frames < 0 || n < max_frames) encode(frame.get());
        av_frame_unref(frame.get());
      }
    };

    // A decoder can only start at a keyframe; a source that never sends one would
    // otherwise keep us waiting forever.
    constexpr int64_t kMaxPacketsWithoutFrame = 600;
    int64_t video_packets = 0;
    while (!m_stop && (max_frames < 0 || n < max_frames)) {
      r = av_read_frame(in.get(), pkt.get());
      if (r == AVERROR_EOF) break;
      if (r < 0) {
        if (m_stop) break;
        throw Fail("reading '" + o.source + "' failed: " + av_err(r));
      }
      if (pkt->stream_index == vidx) {
        ++video_packets;
        if (avcodec_send_packet(dctx.get(), pkt.get()) >= 0) drain_decoder();
      }
      av_packet_unref(pkt.get());
      if (n == 0 && video_packets >= kMaxPacketsWithoutFrame) {
        throw Fail("no keyframe in the first " + std::to_string(kMaxPacketsWithoutFrame) + " video packets of '" + o.source +
                   "': nothing can be decoded");
      }
    }
    avcodec_send_packet(dctx.get(), nullptr);
    drain_decoder();
    encode(nullptr);
    sws_freeContext(sws);
    cutter.finish(frame_us);
  } catch (const Fail& e) {
    m_on_error(e.what());
  }
}

} // namespace openstreaming::media
