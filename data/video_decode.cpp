// data/video_decode.cpp: demuxing, decoding and colour conversion with
// FFmpeg's libavformat / libavcodec / libswscale (API facts from FFmpeg's
// documentation; FFmpeg 5.1 as shipped by Debian 12). The only file of vididi
// that tests VD_FFMPEG: without it, the functions throw the install hint.
// No dataset or corrupt-frame policy here (data/video_file.cpp).
#include "data/video_decode.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>

#include "data/error.h"

#if VD_FFMPEG
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}
#endif

namespace vd::data {

void output_size(int height, int width, int short_side, int& out_h, int& out_w) {
  out_h = height, out_w = width;
  if (short_side <= 0 || std::min(height, width) == short_side) return;
  if (height <= width) {
    out_h = short_side;
    out_w = std::max(1, int(std::lround(double(width) * short_side / height)));
  } else {
    out_w = short_side;
    out_h = std::max(1, int(std::lround(double(height) * short_side / width)));
  }
}

std::string video_decoding_missing_hint() {
  return "install libavformat-dev libavcodec-dev libswscale-dev libavutil-dev (scripts/deps.sh "
         "does, as root) and rebuild (make clean && make), or extract frame folders with "
         "tools/prepare_frames.py and use video_format = frames";
}

#if VD_FFMPEG

bool video_decoding_available() { return true; }

namespace {

const char* kNotVideo =
    "check that the file is a complete video (ffprobe FILE shows its streams); re-download or "
    "re-encode it, or remove it from the split file";

std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

using Clock = std::chrono::steady_clock;

// Called by libavformat during blocking I/O: nonzero once the deadline passed,
// so a stalled read ends with an error instead of a hang.
int past_deadline(void* deadline) {
  return Clock::now() > *static_cast<Clock::time_point*>(deadline) ? 1 : 0;
}

// One open file: demuxer, its best video stream, a one-thread decoder.
class Input {
 public:
  // probe = false skips avformat_find_stream_info (which may decode frames)
  // when the container already names the codec and the frame size: loads
  // use it, the index is built with the full probe.
  Input(const std::string& path, double timeout_s, bool probe = true) : path_(path) {
    static std::once_flag quiet;  // decoders report through our errors, not stderr
    std::call_once(quiet, [] { av_log_set_level(AV_LOG_FATAL); });
    deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(timeout_s));
    fmt_ = avformat_alloc_context();
    if (!fmt_) fail(path, "cannot allocate a demuxer (out of memory?)");
    fmt_->interrupt_callback.callback = past_deadline;
    fmt_->interrupt_callback.opaque = &deadline_;
    int r = avformat_open_input(&fmt_, path.c_str(), nullptr, nullptr);  // frees fmt_ on failure
    if (r < 0) {
      fmt_ = nullptr;
      fail(path, "expected a video file FFmpeg can open, got: " + av_error(r), kNotVideo);
    }
    bool declared = false;
    for (unsigned i = 0; i < fmt_->nb_streams; ++i) {
      const AVCodecParameters* par = fmt_->streams[i]->codecpar;
      declared = declared || (par->codec_type == AVMEDIA_TYPE_VIDEO && par->codec_id != AV_CODEC_ID_NONE &&
                              par->width > 0 && par->height > 0);
    }
    if ((probe || !declared) && (r = avformat_find_stream_info(fmt_, nullptr)) < 0)
      fail(path, "expected stream information, got: " + av_error(r), kNotVideo);
    const AVCodec* codec = nullptr;
    si_ = av_find_best_stream(fmt_, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (si_ < 0)
      fail(path, si_ == AVERROR_DECODER_NOT_FOUND ? "expected a video stream with a decoder in this "
                                                    "FFmpeg, found none"
                                                  : "expected a video stream, found none",
           kNotVideo);
    for (unsigned i = 0; i < fmt_->nb_streams; ++i)
      if (int(i) != si_) fmt_->streams[i]->discard = AVDISCARD_ALL;
    st_ = fmt_->streams[si_];
    cc_ = avcodec_alloc_context3(codec);
    if (!cc_ || avcodec_parameters_to_context(cc_, st_->codecpar) < 0)
      fail(path, "cannot set up the " + std::string(codec->name) + " decoder");
    cc_->thread_count = 1;  // the loader's workers give the parallelism
    cc_->pkt_timebase = st_->time_base;
    if ((r = avcodec_open2(cc_, codec, nullptr)) < 0)
      fail(path, "cannot open the " + std::string(codec->name) + " decoder: " + av_error(r), kNotVideo);
    pkt_ = av_packet_alloc();
    frame_ = av_frame_alloc();
    if (!pkt_ || !frame_) fail(path, "cannot allocate packets (out of memory?)");
  }
  ~Input() {
    sws_freeContext(sws_);
    av_frame_free(&frame_);
    av_packet_free(&pkt_);
    avcodec_free_context(&cc_);
    if (fmt_) avformat_close_input(&fmt_);
  }
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;

  AVStream* stream() const { return st_; }
  AVFormatContext* format() const { return fmt_; }
  AVCodecContext* decoder() const { return cc_; }
  AVPacket* packet() const { return pkt_; }
  AVFrame* frame() const { return frame_; }
  SwsContext*& sws() { return sws_; }

  // Next packet of the video stream with data (empty and discarded packets
  // skipped); 0, or a negative AVERROR (AVERROR_EOF at the end).
  int read_video_packet() {
    for (;;) {
      const int r = av_read_frame(fmt_, pkt_);
      if (r < 0) return r;
      if (pkt_->stream_index == si_ && pkt_->size > 0 && !(pkt_->flags & AV_PKT_FLAG_DISCARD)) return 0;
      av_packet_unref(pkt_);
    }
  }

 private:
  std::string path_;
  Clock::time_point deadline_;
  AVFormatContext* fmt_ = nullptr;
  AVStream* st_ = nullptr;
  AVCodecContext* cc_ = nullptr;
  AVPacket* pkt_ = nullptr;
  AVFrame* frame_ = nullptr;
  SwsContext* sws_ = nullptr;
  int si_ = -1;
};

struct RunStats {
  int decode_errors = 0;
  std::string error;
};

// Feeds packets from the current position and hands each decoded frame to
// on_frame(frame number, frame): matched by pts against idx in timestamped
// mode (-1 when it matches no indexed frame), else counted from 0. Stops when
// on_frame returns false, after the decoder is drained at the end of the file
// or a read error, or after max_packets packets.
RunStats run_decoder(Input& in, const VideoIndex& idx, int max_packets,
                     const std::function<bool(int, AVFrame*)>& on_frame) {
  RunStats stats;
  AVCodecContext* cc = in.decoder();
  AVFrame* f = in.frame();
  int counter = 0, packets = 0;
  bool draining = false;
  auto note = [&](const std::string& what) {
    if (stats.error.empty()) stats.error = what;
  };
  // Takes every frame the decoder has ready; false once on_frame says stop
  // or the decoder is drained (EAGAIN while draining would loop: stop too).
  auto receive = [&]() {
    for (;;) {
      const int r = avcodec_receive_frame(cc, f);
      if (r == AVERROR(EAGAIN)) return !draining;
      if (r == AVERROR_EOF) return false;
      if (r < 0) {
        ++stats.decode_errors;
        note("decode error: " + av_error(r));
        if (draining) return false;
        return true;
      }
      int j = counter++;
      if (idx.timestamped) {
        const int64_t ts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
        auto it = std::lower_bound(idx.pts.begin(), idx.pts.end(), ts);
        j = it != idx.pts.end() && *it == ts ? int(it - idx.pts.begin()) : -1;
      }
      const bool go = on_frame(j, f);
      av_frame_unref(f);
      if (!go) return false;
    }
  };
  for (;;) {
    if (!draining) {
      const int r = in.read_video_packet();
      if (r < 0) {
        if (r != AVERROR_EOF) note("read error: " + av_error(r));
        draining = true;
        avcodec_send_packet(cc, nullptr);
      } else {
        int s = avcodec_send_packet(cc, in.packet());
        if (s == AVERROR(EAGAIN)) {  // decoder full: take its frames, then resend
          if (!receive()) {
            av_packet_unref(in.packet());
            return stats;
          }
          s = avcodec_send_packet(cc, in.packet());
        }
        av_packet_unref(in.packet());
        if (s < 0) {
          ++stats.decode_errors;
          note("decode error: " + av_error(s));
        }
        if (++packets > max_packets) {
          note("gave up after " + std::to_string(max_packets) + " packets without reaching the frame");
          return stats;
        }
      }
    }
    if (!receive()) return stats;
  }
}

// Converts a decoded frame to RGB24 [oh, ow, 3] at dst; false if swscale
// cannot handle its pixel format.
bool to_rgb(Input& in, const AVFrame* f, int oh, int ow, uint8_t* dst) {
  const AVPixelFormat fmt = AVPixelFormat(f->format);
  SwsContext*& sws = in.sws();
  // Shrinking averages areas (as data/image.h does; 320x240 -> 171x128 costs
  // about half of bicubic here); same size or larger is bicubic, ffmpeg's default.
  const int flags = ow < f->width && oh < f->height ? SWS_AREA : SWS_BICUBIC;
  sws = sws_getCachedContext(sws, f->width, f->height, fmt, ow, oh, AV_PIX_FMT_RGB24, flags, nullptr, nullptr,
                             nullptr);
  if (!sws) return false;
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(fmt);
  if (d && !(d->flags & AV_PIX_FMT_FLAG_RGB) && d->nb_components >= 3) {
    // The frame's own matrix and range, as ffmpeg's scale filter uses them.
    int* inv_table, *table, src_range, dst_range, brightness, contrast, saturation;
    if (sws_getColorspaceDetails(sws, &inv_table, &src_range, &table, &dst_range, &brightness,
                                 &contrast, &saturation) >= 0) {
      const int cs = f->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709
                     : f->colorspace == AVCOL_SPC_BT2020_NCL ? SWS_CS_BT2020 : SWS_CS_DEFAULT;
      if (f->color_range == AVCOL_RANGE_JPEG) src_range = 1;
      sws_setColorspaceDetails(sws, sws_getCoefficients(cs), src_range, table, dst_range, brightness,
                               contrast, saturation);
    }
  }
  const int stride = (ow * 3 + 63) / 64 * 64;  // aligned rows for swscale, copied out after
  std::vector<uint8_t> tmp(size_t(stride) * oh + 64);
  uint8_t* planes[4] = {tmp.data(), nullptr, nullptr, nullptr};
  int strides[4] = {stride, 0, 0, 0};
  if (sws_scale(sws, f->data, f->linesize, 0, f->height, planes, strides) != oh) return false;
  for (int y = 0; y < oh; ++y) std::memcpy(dst + size_t(y) * ow * 3, tmp.data() + size_t(y) * stride, size_t(ow) * 3);
  return true;
}

}  // namespace

VideoIndex build_video_index(const std::string& path, double timeout_s) {
  VideoIndex idx;
  if (!stat_file(path, idx.file_size, idx.file_mtime_ns))
    fail(path, "expected a readable video file, found none", "check the path and the split file");
  struct Packet {
    int64_t pts, dts;
    bool key;
  };
  std::vector<Packet> packets;
  {
    Input in(path, timeout_s);
    const AVStream* st = in.stream();
    idx.codec = avcodec_get_name(st->codecpar->codec_id);
    idx.width = st->codecpar->width;
    idx.height = st->codecpar->height;
    idx.tb_num = st->time_base.num;
    idx.tb_den = st->time_base.den;
    const AVRational rate = st->avg_frame_rate.den > 0 && st->avg_frame_rate.num > 0 ? st->avg_frame_rate
                                                                                      : st->r_frame_rate;
    idx.fps = rate.den > 0 ? av_q2d(rate) : 0;
    int r;
    while ((r = in.read_video_packet()) >= 0) {
      const AVPacket* p = in.packet();
      packets.push_back({p->pts, p->dts, (p->flags & AV_PKT_FLAG_KEY) != 0});
      av_packet_unref(in.packet());
    }
  }
  if (packets.empty() || idx.width <= 0 || idx.height <= 0)
    fail(path, "expected video frames, found no video packets", kNotVideo);
  bool all_pts = true;
  for (const Packet& p : packets) all_pts = all_pts && p.pts != AV_NOPTS_VALUE;
  std::vector<Packet> sorted = packets;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Packet& a, const Packet& b) { return a.pts < b.pts; });
  for (size_t i = 1; all_pts && i < sorted.size(); ++i) all_pts = sorted[i].pts > sorted[i - 1].pts;
  if (all_pts) {
    for (size_t i = 0; i < sorted.size(); ++i) {
      idx.pts.push_back(sorted[i].pts);
      if (i == 0 || sorted[i].key) {  // frame 0 is always a start: the file's beginning
        idx.keyframes.push_back(int(i));
        idx.key_dts.push_back(sorted[i].dts != AV_NOPTS_VALUE ? sorted[i].dts : sorted[i].pts);
      }
    }
    // Trailing frames that are listed but do not decode (a cut-off file):
    // decode from the last keyframe to the end, up to 3 groups back.
    for (int tries = 0; tries < 3 && !idx.pts.empty(); ++tries) {
      const int slot = int(idx.keyframes.size()) - 1, from = idx.keyframes[size_t(slot)];
      std::vector<char> seen(idx.pts.size(), 0);
      Input in(path, timeout_s);
      if (slot > 0 && av_seek_frame(in.format(), in.stream()->index, idx.key_dts[size_t(slot)],
                                    AVSEEK_FLAG_BACKWARD) < 0)  // dts: early rather than late
        break;
      run_decoder(in, idx, idx.num_frames() + 64, [&](int j, AVFrame*) {
        if (j >= 0) seen[size_t(j)] = 1;
        return true;
      });
      int n = idx.num_frames();
      while (n > from && !seen[size_t(n - 1)]) --n;
      idx.pts.resize(size_t(n));
      if (n > from) break;
      idx.keyframes.pop_back();  // the whole last group failed: check the one before
      idx.key_dts.pop_back();
    }
  } else {
    // No trustworthy timestamps: the frames are what the decoder gives, counted.
    idx.timestamped = false;
    Input in(path, timeout_s);
    int n = 0;
    run_decoder(in, idx, int(packets.size()) + 64, [&](int, AVFrame*) {
      ++n;
      return true;
    });
    for (int i = 0; i < n; ++i) idx.pts.push_back(i);
    idx.keyframes = {0};
    idx.key_dts = {packets[0].dts};
  }
  if (idx.pts.empty())
    fail(path, "expected at least one decodable frame, found " + std::to_string(packets.size()) +
                   " packets and none decodes", kNotVideo);
  const double tb = idx.tb_den > 0 ? double(idx.tb_num) / idx.tb_den : 0;
  idx.duration_s = idx.timestamped ? double(idx.pts.back() - idx.pts.front()) * tb : 0;
  if (idx.fps > 0) idx.duration_s += idx.timestamped ? 1.0 / idx.fps : idx.num_frames() / idx.fps;
  return idx;
}

namespace {

// Decodes frames[lo, hi) (one segment) into res, starting at keyframe slot
// `slot`: a fresh input at slot 0 is already there, otherwise it seeks
// (backward, to `target`) and flushes the decoder. Returns false when the
// seek failed or landed past frames[lo] (the caller then tries an earlier
// target, then the file's start).
bool decode_segment(Input& in, bool fresh, const VideoIndex& idx, const std::vector<int>& frames, size_t lo,
                    size_t hi, int slot, int64_t target, int oh, int ow, DecodeResult& res) {
  if (!fresh || slot > 0) {
    if (av_seek_frame(in.format(), in.stream()->index, target, AVSEEK_FLAG_BACKWARD) < 0) return false;
    avcodec_flush_buffers(in.decoder());
  }
  const int first = frames[lo], last = frames[hi - 1];
  bool overshoot = false, first_out = true;
  const RunStats stats = run_decoder(in, idx, idx.num_frames() + 64, [&](int j, AVFrame* f) {
    ++res.frames_decoded;
    if (j < 0) return true;  // not an indexed frame (e.g. a leading frame of an open GOP)
    if (first_out && slot > 0 && j > first) {
      overshoot = true;
      return false;
    }
    first_out = false;
    auto it = std::lower_bound(frames.begin() + long(lo), frames.begin() + long(hi), j);
    if (it != frames.begin() + long(hi) && *it == j) {
      const size_t k = size_t(it - frames.begin());
      if ((f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags) {
        if (res.error.empty()) res.error = "frame " + std::to_string(j) + " decodes with errors";
      } else if (!res.ok[k]) {
        if (to_rgb(in, f, oh, ow, res.clip.frame(int(k)))) res.ok[k] = 1;
        else if (res.error.empty())
          res.error = "cannot convert pixel format " +
                      std::string(av_get_pix_fmt_name(AVPixelFormat(f->format)) ?: "?") + " to RGB";
      }
    }
    return j < last;
  });
  res.decode_errors += stats.decode_errors;
  if (res.error.empty()) res.error = stats.error;
  return !overshoot;
}

}  // namespace

DecodeResult decode_video_frames(const std::string& path, const VideoIndex& idx,
                                 const std::vector<int>& frames, int short_side, double timeout_s) {
  for (size_t i = 0; i < frames.size(); ++i)
    if (frames[i] < 0 || frames[i] >= idx.num_frames() || (i > 0 && frames[i] <= frames[i - 1]))
      fail(path, "expected ascending, unique frame numbers in [0, " + std::to_string(idx.num_frames()) +
                     "), got " + std::to_string(frames[i]) + " at position " + std::to_string(i),
           "this is a bug in the caller");
  DecodeResult res;
  int oh, ow;
  output_size(idx.height, idx.width, short_side, oh, ow);
  res.clip = Clip(int(frames.size()), oh, ow, 3);
  res.ok.assign(frames.size(), 0);
  if (frames.empty()) return res;
  // Segments: a new one starts where seeking to the keyframe before a frame
  // skips more frames than it costs (a seek is counted as kSeekCost frames),
  // e.g. between the two views of a training item.
  constexpr int kSeekCost = 4;
  std::vector<size_t> cuts = {0};
  for (size_t i = 1; idx.timestamped && i < frames.size(); ++i) {
    const int key = idx.keyframes[size_t(idx.keyframe_slot_before(frames[i]))];
    if (key > frames[i - 1] && (frames[i] - key) + kSeekCost < frames[i] - frames[i - 1] - 1) cuts.push_back(i);
  }
  cuts.push_back(frames.size());
  Input in(path, timeout_s, false);
  bool fresh = true;
  for (size_t c = 0; c + 1 < cuts.size(); ++c) {
    const size_t lo = cuts[c], hi = cuts[c + 1];
    const int slot = idx.timestamped ? idx.keyframe_slot_before(frames[lo]) : 0;
    // The keyframe's pts finds it in demuxers indexed by pts (Matroska) and
    // by dts (MP4, AVI: its dts <= pts < the next keyframe's dts); its dts,
    // earlier, is the second try; the file's start the last.
    const int64_t key_pts = idx.pts[size_t(idx.keyframes[size_t(slot)])], key_dts = idx.key_dts[size_t(slot)];
    if (!decode_segment(in, fresh, idx, frames, lo, hi, slot, key_pts, oh, ow, res) &&
        (key_dts >= key_pts || !decode_segment(in, false, idx, frames, lo, hi, slot, key_dts, oh, ow, res))) {
      Input again(path, timeout_s, false);
      decode_segment(again, true, idx, frames, lo, hi, 0, 0, oh, ow, res);
    }
    fresh = false;
  }
  return res;
}

#else  // built without FFmpeg

bool video_decoding_available() { return false; }

VideoIndex build_video_index(const std::string& path, double) {
  fail(path, "cannot index a video: vididi was built without FFmpeg", video_decoding_missing_hint());
}

DecodeResult decode_video_frames(const std::string& path, const VideoIndex&, const std::vector<int>&, int,
                                 double) {
  fail(path, "cannot decode a video: vididi was built without FFmpeg", video_decoding_missing_hint());
}

#endif

}  // namespace vd::data
