#include "media/ingest.h"

#include "media/part_cutter.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavdevice/avdevice.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <srt/srt.h>
#include <stdexcept>
#include <vector>

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
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
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
struct SwrFree {
  void operator()(SwrContext* s) const { swr_free(&s); }
};
struct FifoFree {
  void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
};

constexpr int kAudioRate = 48000;

// The MPEG-TS muxer writing into memory, and the part/segment cutter around it.
class Cutter {
public:
  Cutter(const IngestOptions& o, const AVCodecContext* enc, const AVCodecContext* audio_enc, Ingest::PartCallback& cb)
      : m_cb(cb), m_cutter(o.segment_s, o.part_s) {
    if (avformat_alloc_output_context2(&m_oc, nullptr, "mpegts", nullptr) < 0 || !m_oc)
      throw Fail("cannot create the MPEG-TS muxer");
    m_buf = static_cast<uint8_t*>(av_malloc(kIoBuffer));
    m_oc->pb = avio_alloc_context(m_buf, kIoBuffer, 1, this, nullptr, &Cutter::write_cb, nullptr);
    if (!m_oc->pb) throw Fail("cannot create the muxer's output");
    m_st = avformat_new_stream(m_oc, nullptr);
    avcodec_parameters_from_context(m_st->codecpar, enc);
    m_st->time_base = AVRational{1, 90000};
    if (audio_enc) {
      m_audio = avformat_new_stream(m_oc, nullptr);
      avcodec_parameters_from_context(m_audio->codecpar, audio_enc);
      m_audio->time_base = AVRational{1, 90000};
    }
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

  // Packets in, muxed in timestamp order. Parts and segments are cut by the
  // video alone, so the two streams are interleaved here first: a video packet
  // waits until the audio has caught up with it (sources deliver audio in
  // bursts, ahead of or behind the video), at most kMaxHold90k; then each part
  // holds the audio of its own time span. Audio before the first keyframe is dropped.
  void write_audio(AVPacket* pkt, AVRational tb) {
    if (m_trailer_written) return;
    queue(m_audio_queue, pkt, tb, m_audio);
    pump(false);
  }

  void write(AVPacket* pkt, AVRational tb) {
    if (m_trailer_written) return;
    queue(m_video_queue, pkt, tb, m_st);
    pump(false);
  }

  void finish(int64_t frame_us) {
    pump(true);
    if (!m_cutter.started()) throw Fail("the source produced no decodable video frames (no keyframe?)");
    pump(true);
    av_write_trailer(m_oc); // flushes the muxer; it must not be written to again
    m_trailer_written = true;
    emit(m_cutter.current(), m_last_pts + frame_us, false);
    IngestedPart end;
    end.segment = m_cutter.current().segment + 1;
    end.end_of_stream = true;
    end.unix_ms = unix_ms_now();
    m_cb(std::move(end));
  }

private:
  static constexpr int kIoBuffer = 64 << 10;

  // Muxed timestamps start at 1.4 s, as ffmpeg's own muxers do: the AAC
  // encoder's priming puts its first packet before zero, and MPEG-TS has no
  // negative timestamps (they would wrap to 2^33).
  static constexpr int64_t kMuxOffset = 126000; // 1.4 s at 90 kHz
  static constexpr int64_t kMaxHold90k = 45000; // 0.5 s: the most a packet waits for the other stream
  static void offset(AVPacket* pkt) {
    if (pkt->pts != AV_NOPTS_VALUE) pkt->pts += kMuxOffset;
    if (pkt->dts != AV_NOPTS_VALUE) pkt->dts += kMuxOffset;
  }

  using PacketQueue = std::deque<std::unique_ptr<AVPacket, PacketFree>>;

  static void queue(PacketQueue& q, AVPacket* pkt, AVRational tb, AVStream* st) {
    av_packet_rescale_ts(pkt, tb, AVRational{1, 90000});
    offset(pkt);
    pkt->stream_index = st->index;
    q.emplace_back(av_packet_clone(pkt));
  }

  static int64_t pts_of(const PacketQueue& q) { return q.front()->pts == AV_NOPTS_VALUE ? 0 : q.front()->pts; }
  static int64_t span(const PacketQueue& q) { return q.empty() ? 0 : q.back()->pts - q.front()->pts; }

  // Writes queued packets in timestamp order while the order is certain (or
  // waiting longer would add too much latency, or `all`).
  void pump(bool all) {
    for (;;) {
      bool v = !m_video_queue.empty(), a = !m_audio_queue.empty();
      if (!v && !a) return;
      bool take_video;
      if (v && a)
        take_video = pts_of(m_video_queue) <= pts_of(m_audio_queue);
      else
        take_video = v;
      if (!(v && a) && !all && m_audio) {
        // One stream waits: write it only once the other (in pts order) has passed
        // its time, or it has waited long enough.
        const PacketQueue& q = take_video ? m_video_queue : m_audio_queue;
        int64_t other_last = take_video ? m_last_audio90 : m_last_video90;
        if (other_last < pts_of(q) && span(q) < kMaxHold90k) return;
      }
      PacketQueue& q = take_video ? m_video_queue : m_audio_queue;
      std::unique_ptr<AVPacket, PacketFree> p = std::move(q.front());
      q.pop_front();
      if (take_video) {
        m_last_video90 = std::max(m_last_video90, p->pts);
        mux_video(p.get());
      } else if (m_last_audio90 = std::max(m_last_audio90, p->pts); m_cutter.started()) {
        int r = av_write_frame(m_oc, p.get());
        if (r < 0) throw Fail("muxing audio failed: " + av_err(r));
      }
    }
  }

  // A video packet (90 kHz, offset applied): cut parts and segments (PartCutter), then mux.
  void mux_video(AVPacket* pkt) {
    int64_t pts = av_rescale_q(pkt->pts - kMuxOffset, AVRational{1, 90000}, AVRational{1, 1'000'000});
    const PartCutter::Decision d = m_cutter.on_frame(pts, pkt->flags & AV_PKT_FLAG_KEY);
    if (d.cut == PartCutter::Cut::skip) return;
    if (d.closed) emit(*d.closed, pts, false);
    if (d.cut == PartCutter::Cut::start || d.cut == PartCutter::Cut::new_segment)
      av_opt_set(m_oc->priv_data, "mpegts_flags", "+resend_headers", 0); // PAT/PMT at the start of every segment
    m_last_pts = pts;
    int r = av_write_frame(m_oc, pkt);
    if (r < 0) throw Fail("muxing failed: " + av_err(r));
  }

  static int write_cb(void* opaque, uint8_t* buf, int size) {
    static_cast<Cutter*>(opaque)->m_current.insert(static_cast<Cutter*>(opaque)->m_current.end(), buf, buf + size);
    return size;
  }

  void emit(const PartSpan& span, int64_t next_pts, bool end) {
    if (!m_trailer_written) av_write_frame(m_oc, nullptr); // flush the muxer's queued PES data
    avio_flush(m_oc->pb);
    if (m_current.empty()) return;
    IngestedPart p;
    p.segment = span.segment;
    p.part = span.part;
    p.independent = span.independent;
    p.pts_us = span.start_us;
    p.duration_us = static_cast<uint32_t>(std::max<int64_t>(0, next_pts - span.start_us));
    p.unix_ms = unix_ms_now();
    p.payload = std::move(m_current);
    p.end_of_stream = end;
    m_current.clear();
    m_cb(std::move(p));
  }

  Ingest::PartCallback& m_cb;
  AVFormatContext* m_oc = nullptr;
  AVStream* m_st = nullptr;
  AVStream* m_audio = nullptr;
  std::deque<std::unique_ptr<AVPacket, PacketFree>> m_audio_queue, m_video_queue;
  int64_t m_last_video90 = INT64_MIN, m_last_audio90 = INT64_MIN; // last muxed pts per stream
  uint8_t* m_buf = nullptr;
  Bytes m_current;
  bool m_trailer_written = false;
  PartCutter m_cutter;
  int64_t m_last_pts = 0;
};

int interrupt_cb(void* opaque) {
  return static_cast<std::atomic<bool>*>(opaque)->load() ? 1 : 0;
}

// FFmpeg's RTMP listener accepts whatever stream name the publisher sends and
// exposes it nowhere: it only warns "Unexpected stream NAME, expecting X" when
// NAME differs from the listen URL's last path element X. That warning is
// where the name can be read, so the log callback catches it while a listener
// opens (one push listener per process: the slot is global).
struct PublishedName {
  std::mutex mu;
  bool watching = false;
  std::optional<std::string> name; // set when it differed from the expected one
};
PublishedName& published_name() {
  static PublishedName p;
  return p;
}

void log_callback(void* avcl, int level, const char* fmt, va_list vl) {
  if (fmt && std::strcmp(fmt, "Unexpected stream %s, expecting %s\n") == 0) {
    va_list copy;
    va_copy(copy, vl);
    const char* name = va_arg(copy, const char*);
    va_end(copy);
    auto& p = published_name();
    std::lock_guard lock(p.mu);
    if (p.watching) {
      p.name = name ? name : "";
      return;
    }
  }
  av_log_default_callback(avcl, level, fmt, vl);
}

// The SRT listener's handshake refusals, read from libsrt's log: a caller
// without the passphrase is rejected inside libsrt ("rsp(REJECT): 1011 -
// Password required or unexpected"), a wrong one likewise with 1010, and
// FFmpeg never hears of it. One listener per process: the slot is global.
struct SrtRefusals {
  std::mutex mu;
  std::function<void(const std::string&)> on_refused;
};
SrtRefusals& srt_refusals() {
  static SrtRefusals r;
  return r;
}

void srt_log(void*, int, const char*, int, const char*, const char* message) {
  std::string m = message ? message : "";
  for (int code : {static_cast<int>(SRT_REJ_BADSECRET), static_cast<int>(SRT_REJ_UNSECURE)}) {
    const std::string tag = "rsp(REJECT): " + std::to_string(code);
    auto at = m.find(tag);
    if (at == std::string::npos) continue;
    std::string why = m.substr(at + tag.size());
    while (!why.empty() && (why.front() == ' ' || why.front() == '-')) why.erase(why.begin());
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    auto& r = srt_refusals();
    std::lock_guard lock(r.mu);
    if (r.on_refused) {
      r.on_refused(why);
      return;
    }
  }
  std::fputs(m.c_str(), stderr); // as libsrt prints without a handler
  if (m.empty() || m.back() != '\n') std::fputc('\n', stderr);
}

// The key a publisher presented: OBS sends it as the stream name (server
// rtmp://HOST:PORT/live, stream key KEY); an ffmpeg-style URL carries it as
// rtmp://HOST:PORT/live/NAME?key=KEY.
bool key_presented(const std::string& published, const std::string& expected_name, const std::string& key) {
  if (published == key) return true;
  auto q = published.find('?');
  if (q == std::string::npos || published.substr(0, q) != expected_name) return false;
  std::string query = published.substr(q + 1);
  for (std::size_t at = 0; at <= query.size();) {
    auto amp = query.find('&', at);
    std::string param = query.substr(at, amp == std::string::npos ? std::string::npos : amp - at);
    if (param == "key=" + key) return true;
    if (amp == std::string::npos) break;
    at = amp + 1;
  }
  return false;
}

} // namespace

Ingest::Ingest(IngestOptions options, PartCallback on_part, ErrorCallback on_error)
    : m_options(std::move(options)), m_on_part(std::move(on_part)), m_on_error(std::move(on_error)) {}

Ingest::~Ingest() {
  stop();
}

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
  std::call_once(once, [] {
    avdevice_register_all();
    av_log_set_callback(log_callback);
    srt_setloghandler(nullptr, &srt_log);
  });
  const bool srt_listener = m_options.source.rfind("srt://", 0) == 0 && m_options.on_refused;
  if (srt_listener) {
    std::lock_guard lock(srt_refusals().mu);
    srt_refusals().on_refused = m_options.on_refused;
  }
  struct ClearRefusals {
    bool active;
    ~ClearRefusals() {
      if (!active) return;
      std::lock_guard lock(srt_refusals().mu);
      srt_refusals().on_refused = nullptr;
    }
  } clear_refusals{srt_listener};
  av_log_set_level(AV_LOG_ERROR);
  try {
    const IngestOptions& o = m_options;
    const AVInputFormat* ifmt = nullptr;
    std::string url = o.source;
    int fps = o.fps;
    if (o.source == "testsrc") {
      ifmt = av_find_input_format("lavfi");
      if (!ifmt) throw Fail("FFmpeg has no lavfi input (libavdevice missing)");
      // A moving pattern from lavfi; the 440 Hz tone is synthesised below (a
      // two-output lavfi graph leaks its buffered frames when closed in FFmpeg 5.1).
      url =
          "testsrc2=size=" + std::to_string(o.width) + "x" + std::to_string(o.height) + ":rate=" + std::to_string(fps);
    }
    AVDictionary* opts = nullptr;
    for (const auto& [k, v] : o.input_options) av_dict_set(&opts, k.c_str(), v.c_str(), 0);
    AVFormatContext* raw_in = avformat_alloc_context();
    raw_in->interrupt_callback = AVIOInterruptCB{&interrupt_cb, &m_stop};
    const bool rtmp_key = !o.stream_key.empty() && o.source.rfind("rtmp://", 0) == 0;
    if (rtmp_key) {
      std::lock_guard lock(published_name().mu);
      published_name().watching = true;
      published_name().name.reset();
    }
    int r = avformat_open_input(&raw_in, url.c_str(), ifmt, &opts);
    av_dict_free(&opts);
    std::optional<std::string> published;
    if (rtmp_key) {
      std::lock_guard lock(published_name().mu);
      published_name().watching = false;
      published = published_name().name;
    }
    if (r < 0) {
      if (m_stop) return;
      throw Fail("cannot open input '" + o.source + "': " + av_err(r));
    }
    std::unique_ptr<AVFormatContext, InputCloser> in(raw_in);
    if (rtmp_key) {
      // No warning: the publisher sent exactly the listen URL's stream name, without a key.
      const std::string expected = o.source.substr(o.source.rfind('/') + 1);
      if (!published || !key_presented(*published, expected, o.stream_key)) {
        std::string name = published ? published->substr(0, published->find('?')) : expected; // no key in logs
        throw Fail(std::string(kPublishRefused) + "a push to stream '" + name + "' without the right stream key");
      }
    }
    if ((r = avformat_find_stream_info(in.get(), nullptr)) < 0)
      throw Fail("cannot read '" + o.source + "': " + av_err(r));
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

    // Audio (optional): decode, resample to 48 kHz stereo float planar, regroup into
    // the encoder's frame size, encode AAC. Its clock counts samples from the first.
    int aidx = av_find_best_stream(in.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    std::unique_ptr<AVCodecContext, CodecFree> adec, aenc;
    std::unique_ptr<SwrContext, SwrFree> swr;
    std::unique_ptr<AVAudioFifo, FifoFree> fifo;
    const bool tone = o.source == "testsrc"; // synthesised 440 Hz tone
    auto make_aac = [&]() -> std::unique_ptr<AVCodecContext, CodecFree> {
      const AVCodec* ae = avcodec_find_encoder(AV_CODEC_ID_AAC);
      if (!ae) return nullptr;
      std::unique_ptr<AVCodecContext, CodecFree> e(avcodec_alloc_context3(ae));
      e->sample_rate = kAudioRate;
      e->sample_fmt = AV_SAMPLE_FMT_FLTP;
      av_channel_layout_default(&e->ch_layout, 2);
      e->bit_rate = 128000;
      e->time_base = AVRational{1, kAudioRate};
      if (avcodec_open2(e.get(), ae, nullptr) < 0) return nullptr;
      return e;
    };
    if (aidx >= 0) {
      const AVCodec* ad = avcodec_find_decoder(in->streams[aidx]->codecpar->codec_id);
      if (ad) {
        adec.reset(avcodec_alloc_context3(ad));
        avcodec_parameters_to_context(adec.get(), in->streams[aidx]->codecpar);
        if (avcodec_open2(adec.get(), ad, nullptr) < 0) adec.reset();
      }
      if (adec) aenc = make_aac();
      if (!aenc) aidx = -1; // the video still goes out
    } else if (tone) {
      aenc = make_aac();
    }
    if (aenc && adec) {
      SwrContext* raw_swr = nullptr;
      AVChannelLayout in_layout{};
      if (adec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || adec->ch_layout.nb_channels == 0) {
        av_channel_layout_default(&in_layout, std::max(1, adec->ch_layout.nb_channels));
      } else {
        av_channel_layout_copy(&in_layout, &adec->ch_layout);
      }
      r = swr_alloc_set_opts2(&raw_swr, &aenc->ch_layout, aenc->sample_fmt, kAudioRate, &in_layout, adec->sample_fmt,
                              adec->sample_rate, 0, nullptr);
      av_channel_layout_uninit(&in_layout);
      swr.reset(raw_swr);
      if (r < 0 || swr_init(swr.get()) < 0) throw Fail("cannot convert the audio of '" + o.source + "'");
    }
    if (aenc) fifo.reset(av_audio_fifo_alloc(aenc->sample_fmt, 2, aenc->frame_size * 4));

    Cutter cutter(o, ectx.get(), aenc.get(), m_on_part);
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
    int64_t audio_samples = 0;
    bool audio_started = false;
    int64_t video_origin_us = AV_NOPTS_VALUE; // source time of the first video frame
    std::unique_ptr<AVFrame, FrameFree> aframe(av_frame_alloc()), aout(av_frame_alloc());
    auto drain_audio_encoder = [&] {
      while (avcodec_receive_packet(aenc.get(), out.get()) == 0) {
        cutter.write_audio(out.get(), aenc->time_base);
        av_packet_unref(out.get());
      }
    };
    auto encode_audio_fifo = [&](bool flush) {
      const int fs = aenc->frame_size > 0 ? aenc->frame_size : 1024;
      while (av_audio_fifo_size(fifo.get()) >= fs || (flush && av_audio_fifo_size(fifo.get()) > 0)) {
        int n_samples = std::min(fs, av_audio_fifo_size(fifo.get()));
        av_frame_unref(aout.get());
        aout->nb_samples = n_samples;
        aout->format = aenc->sample_fmt;
        aout->sample_rate = kAudioRate;
        av_channel_layout_copy(&aout->ch_layout, &aenc->ch_layout);
        if (av_frame_get_buffer(aout.get(), 0) < 0) throw Fail("out of memory");
        av_audio_fifo_read(fifo.get(), reinterpret_cast<void**>(aout->data), n_samples);
        aout->pts = audio_samples;
        audio_samples += n_samples;
        if (avcodec_send_frame(aenc.get(), aout.get()) < 0) throw Fail("audio encoding failed");
        drain_audio_encoder();
      }
      if (flush) {
        avcodec_send_frame(aenc.get(), nullptr);
        drain_audio_encoder();
      }
    };
    auto drain_audio_decoder = [&] {
      while (avcodec_receive_frame(adec.get(), aframe.get()) == 0) {
        int max_out = swr_get_out_samples(swr.get(), aframe->nb_samples);
        if (!audio_started && n > 0 && video_origin_us != AV_NOPTS_VALUE &&
            aframe->best_effort_timestamp != AV_NOPTS_VALUE) {
          // Place the audio on the video's clock: both count from the first video frame.
          int64_t at_us =
              av_rescale_q(aframe->best_effort_timestamp, in->streams[aidx]->time_base, AVRational{1, 1'000'000});
          if (at_us >= video_origin_us) {
            audio_started = true;
            audio_samples = av_rescale(at_us - video_origin_us, kAudioRate, 1'000'000);
          }
        } else if (!audio_started && n > 0 && video_origin_us == AV_NOPTS_VALUE) {
          audio_started = true; // no timestamps to align: start now
        }
        if (max_out > 0 && audio_started) {
          uint8_t* planes[2] = {nullptr, nullptr};
          if (av_samples_alloc(planes, nullptr, 2, max_out, aenc->sample_fmt, 0) < 0) throw Fail("out of memory");
          int got = swr_convert(swr.get(), planes, max_out, const_cast<const uint8_t**>(aframe->extended_data),
                                aframe->nb_samples);
          if (got > 0) av_audio_fifo_write(fifo.get(), reinterpret_cast<void**>(planes), got);
          av_freep(&planes[0]);
        }
        av_frame_unref(aframe.get());
      }
      encode_audio_fifo(false);
    };
    int64_t tone_pos = 0;
    auto add_tone = [&] { // the tone up to the end of video frame n, into the fifo
      int64_t target = n * kAudioRate / fps;
      if (target <= tone_pos) return;
      std::vector<float> samples(static_cast<std::size_t>(target - tone_pos));
      for (std::size_t i = 0; i < samples.size(); ++i) {
        samples[i] =
            0.2f * static_cast<float>(std::sin(6.283185307179586 * 440.0 *
                                               static_cast<double>(tone_pos + static_cast<int64_t>(i)) / kAudioRate));
      }
      void* planes[2] = {samples.data(), samples.data()};
      av_audio_fifo_write(fifo.get(), planes, static_cast<int>(samples.size()));
      tone_pos = target;
      encode_audio_fifo(false);
    };
    auto drain_decoder = [&] {
      while (avcodec_receive_frame(dctx.get(), frame.get()) == 0) {
        if (n == 0 && frame->best_effort_timestamp != AV_NOPTS_VALUE) {
          video_origin_us = av_rescale_q(frame->best_effort_timestamp, vst->time_base, AVRational{1, 1'000'000});
        }
        if (max_frames < 0 || n < max_frames) {
          encode(frame.get());
          if (tone && aenc) add_tone();
        }
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
        if (o.push && n > 0) break; // the publisher left (SRT reports it as an error): the broadcast ends
        throw Fail("reading '" + o.source + "' failed: " + av_err(r));
      }
      if (pkt->stream_index == vidx) {
        ++video_packets;
        if (avcodec_send_packet(dctx.get(), pkt.get()) >= 0) drain_decoder();
      } else if (pkt->stream_index == aidx && (max_frames < 0 || n < max_frames)) {
        if (avcodec_send_packet(adec.get(), pkt.get()) >= 0) drain_audio_decoder();
      }
      av_packet_unref(pkt.get());
      if (n == 0 && video_packets >= kMaxPacketsWithoutFrame) {
        throw Fail("no keyframe in the first " + std::to_string(kMaxPacketsWithoutFrame) + " video packets of '" +
                   o.source + "': nothing can be decoded");
      }
    }
    avcodec_send_packet(dctx.get(), nullptr);
    drain_decoder();
    encode(nullptr);
    if (aenc) encode_audio_fifo(/*flush=*/true);
    sws_freeContext(sws);
    cutter.finish(frame_us);
  } catch (const Fail& e) {
    m_on_error(e.what());
  }
}

} // namespace openstreaming::media
