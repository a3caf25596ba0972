#include "osp/io/video_reader.h"

#include <cmath>
#include <vector>

#include "osp/core/error.h"
#include "osp/io/video_ffmpeg.h"

namespace osp::io {
namespace {

using namespace ffmpeg;

// Scaled size covering (W, H) with the source aspect kept, and the crop offset inside it.
struct Geometry {
  int scaled_w, scaled_h;  // swscale output
  int crop_x, crop_y, out_w, out_h;
};

Geometry geometry(int src_w, int src_h, const VideoReadOptions& o) {
  if (o.width == 0) return {src_w, src_h, 0, 0, src_w, src_h};
  const double scale = std::max(static_cast<double>(o.width) / src_w, static_cast<double>(o.height) / src_h);
  const int sw = std::max(static_cast<int>(o.width), static_cast<int>(std::lround(src_w * scale)));
  const int sh = std::max(static_cast<int>(o.height), static_cast<int>(std::lround(src_h * scale)));
  return {sw, sh, (sw - static_cast<int>(o.width)) / 2, (sh - static_cast<int>(o.height)) / 2,
          static_cast<int>(o.width), static_cast<int>(o.height)};
}

// Decodes frames one at a time and hands out RGB24 pictures with their timestamps (seconds).
class Decoder {
 public:
  Decoder(const std::string& path, const VideoReadOptions& options) : path_(path), options_(options) {
    AVFormatContext* raw = nullptr;
    int rc = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
    if (rc < 0) fail_about(path, "cannot open video: {}", error_text(rc));
    input_.reset(raw);
    rc = avformat_find_stream_info(raw, nullptr);
    if (rc < 0) fail_about(path, "cannot read stream info: {}", error_text(rc));
    const AVCodec* codec = nullptr;
    stream_index_ = av_find_best_stream(raw, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (stream_index_ < 0 || !codec) fail_about(path, "no decodable video stream");
    stream_ = raw->streams[stream_index_];
    codec_.reset(avcodec_alloc_context3(codec));
    avcodec_parameters_to_context(codec_.get(), stream_->codecpar);
    codec_->thread_count = 0;  // ffmpeg picks
    rc = avcodec_open2(codec_.get(), codec, nullptr);
    if (rc < 0) fail_about(path, "cannot open the {} decoder: {}", codec->name, error_text(rc));
    const AVRational rate = av_guess_frame_rate(raw, stream_, nullptr);
    fps_ = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 25.0;
  }

  double fps() const { return fps_; }

  std::map<std::string, std::string> metadata() const {
    std::map<std::string, std::string> tags;
    const AVDictionaryEntry* entry = nullptr;
    while ((entry = av_dict_get(input_->metadata, "", entry, AV_DICT_IGNORE_SUFFIX)) != nullptr) {
      tags[entry->key] = entry->value;
    }
    return tags;
  }

  // Next picture uint8 [H, W, 3] and its time in seconds; false at the end.
  bool next(at::Tensor& picture, double& seconds) {
    Frame frame = make_frame();
    while (true) {
      const int rc = avcodec_receive_frame(codec_.get(), frame.get());
      if (rc == 0) {
        seconds = timestamp(*frame);
        picture = convert(*frame);
        ++decoded_;
        return true;
      }
      if (rc == AVERROR_EOF) return false;
      if (rc != AVERROR(EAGAIN)) fail_about(path_, "decoding failed: {}", error_text(rc));
      feed();
    }
  }

 private:
  // Sends the next packet of the video stream to the decoder (or the flush signal at the end).
  void feed() {
    Packet packet = make_packet();
    while (true) {
      const int rc = av_read_frame(input_.get(), packet.get());
      if (rc == AVERROR_EOF) {
        avcodec_send_packet(codec_.get(), nullptr);
        return;
      }
      if (rc < 0) fail_about(path_, "reading failed: {}", error_text(rc));
      if (packet->stream_index == stream_index_) break;
      av_packet_unref(packet.get());
    }
    const int rc = avcodec_send_packet(codec_.get(), packet.get());
    if (rc < 0 && rc != AVERROR(EAGAIN)) fail_about(path_, "corrupt video data: {}", error_text(rc));
  }

  double timestamp(const AVFrame& frame) const {
    const int64_t pts = frame.best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) return static_cast<double>(decoded_) / fps_;
    const int64_t start = stream_->start_time == AV_NOPTS_VALUE ? 0 : stream_->start_time;
    return static_cast<double>(pts - start) * av_q2d(stream_->time_base);
  }

  at::Tensor convert(const AVFrame& frame) {
    const Geometry g = geometry(frame.width, frame.height, options_);
    sws_.reset(sws_getCachedContext(sws_.release(), frame.width, frame.height,
                                    static_cast<AVPixelFormat>(frame.format), g.scaled_w, g.scaled_h, AV_PIX_FMT_RGB24,
                                    SWS_BICUBIC, nullptr, nullptr, nullptr));
    if (!sws_) fail_about(path_, "cannot convert pixel format {}", frame.format);
    at::Tensor scaled = at::empty({g.scaled_h, g.scaled_w, 3}, at::kByte);
    uint8_t* dst[4] = {scaled.data_ptr<uint8_t>(), nullptr, nullptr, nullptr};
    int dst_stride[4] = {3 * g.scaled_w, 0, 0, 0};
    sws_scale(sws_.get(), frame.data, frame.linesize, 0, frame.height, dst, dst_stride);
    if (g.crop_x == 0 && g.crop_y == 0 && g.out_w == g.scaled_w && g.out_h == g.scaled_h) return scaled;
    return scaled.narrow(0, g.crop_y, g.out_h).narrow(1, g.crop_x, g.out_w).contiguous();
  }

  std::string path_;
  VideoReadOptions options_;
  FormatInput input_;
  CodecContext codec_;
  Sws sws_;
  AVStream* stream_ = nullptr;
  int stream_index_ = -1;
  double fps_ = 25.0;
  int64_t decoded_ = 0;
};

void check_options(const VideoReadOptions& o) {
  if (o.fps < 0 || !std::isfinite(o.fps)) fail_about("--fps", "must be positive (or 0: keep), got {}", o.fps);
  if ((o.width == 0) != (o.height == 0) || o.width < 0 || o.height < 0) {
    fail_about("--width/--height", "give both (positive) or neither, got {} x {}", o.width, o.height);
  }
  if (o.max_frames < 0) fail_about("--frames", "must be positive (or 0: all), got {}", o.max_frames);
}

}  // namespace

Video read_video(const std::string& path, const VideoReadOptions& options) {
  check_options(options);
  ffmpeg::quiet_logs();
  Decoder decoder(path, options);
  const bool resample = options.fps > 0;
  const double out_fps = resample ? options.fps : decoder.fps();
  const auto full = [&](const std::vector<at::Tensor>& v) {
    return options.max_frames > 0 && static_cast<int64_t>(v.size()) >= options.max_frames;
  };
  std::vector<at::Tensor> pictures;
  at::Tensor picture, previous;
  double seconds = 0, previous_seconds = 0;
  constexpr double kTolerance = 1e-6;  // timestamps are rationals; don't drop a frame to rounding
  // With resampling, output frame k (time k / fps) is the latest source frame at or before it.
  const auto emit_until = [&](double limit) {
    while (!full(pictures) && static_cast<double>(pictures.size()) / out_fps < limit - kTolerance) {
      pictures.push_back(previous);
    }
  };
  while (!full(pictures) && decoder.next(picture, seconds)) {
    if (!resample) {
      pictures.push_back(picture);
      continue;
    }
    if (previous.defined()) emit_until(seconds);
    previous = picture;
    previous_seconds = seconds;
  }
  if (resample && previous.defined()) emit_until(previous_seconds + 1.0 / decoder.fps());
  if (pictures.empty()) fail_about(path, "no frames decoded (zero-length video)");
  for (const at::Tensor& p : pictures) {
    if (p.sizes() != pictures[0].sizes()) fail_about(path, "frame size changes inside the video; pass --width and --height");
  }
  return {ffmpeg::from_rgb24(at::stack(pictures)), out_fps, decoder.metadata()};
}

}  // namespace osp::io
