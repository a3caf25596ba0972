#include "osp/io/video_writer.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/io/video_ffmpeg.h"

namespace osp::io {
namespace {

using namespace ffmpeg;
namespace fs = std::filesystem;

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string temp_path(const std::string& path) { return path + ".tmp." + std::to_string(getpid()); }

// Encoder choice per container.
struct Target {
  const char* muxer;
  const char* encoder;  // by name (libx264, libvpx-vp9, gif, png)
  AVPixelFormat pixels;
  int default_crf;  // −1: no rate control option
};

Target target_for(VideoFormat format) {
  switch (format) {
    case VideoFormat::kMp4: return {"mp4", "libx264", AV_PIX_FMT_YUV420P, 17};
    case VideoFormat::kWebm: return {"webm", "libvpx-vp9", AV_PIX_FMT_YUV420P, 30};
    case VideoFormat::kGif: return {"gif", "gif", AV_PIX_FMT_RGB8, -1};  // 3-3-2 palette, dithered
    case VideoFormat::kPngSequence: return {nullptr, "png", AV_PIX_FMT_RGB24, -1};
  }
  return {};
}

// One encoder fed with RGB24 pictures; packets go to `on_packet`.
class Encoder {
 public:
  Encoder(const std::string& path, const Target& target, int64_t width, int64_t height,
          const VideoWriteOptions& options, bool global_header)
      : path_(path) {
    const AVCodec* codec = avcodec_find_encoder_by_name(target.encoder);
    if (!codec) fail_about(path, "this ffmpeg build has no {} encoder", target.encoder);
    ctx_.reset(avcodec_alloc_context3(codec));
    ctx_->width = static_cast<int>(width);
    ctx_->height = static_cast<int>(height);
    ctx_->pix_fmt = target.pixels;
    const AVRational rate = av_d2q(options.fps, 100000);
    ctx_->framerate = rate;
    ctx_->time_base = av_inv_q(rate);
    // Frame-threaded encoders (png) hold packets back until later frames arrive; one picture per
    // file needs its packet at once.
    ctx_->thread_count = std::string(target.encoder) == "png" ? 1 : 0;
    if (global_header) ctx_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (target.default_crf >= 0) {
      const int crf = options.crf >= 0 ? options.crf : target.default_crf;
      av_opt_set_int(ctx_->priv_data, "crf", crf, 0);
      if (std::string(target.encoder) == "libvpx-vp9") {
        av_opt_set_int(ctx_.get(), "b", 0, 0);  // constant quality mode
        av_opt_set_int(ctx_->priv_data, "row-mt", 1, 0);
      }
    }
    const int rc = avcodec_open2(ctx_.get(), codec, nullptr);
    if (rc < 0) fail_about(path, "cannot open the {} encoder: {}", target.encoder, error_text(rc));
    sws_.reset(sws_getContext(ctx_->width, ctx_->height, AV_PIX_FMT_RGB24, ctx_->width, ctx_->height, ctx_->pix_fmt,
                              SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr));
    if (!sws_) fail_about(path, "cannot convert RGB24 to the encoder's pixel format");
  }

  AVCodecContext* context() const { return ctx_.get(); }

  template <typename Sink>
  void encode(const at::Tensor& rgb24, int64_t pts, Sink&& sink) {
    Frame frame = make_frame();
    frame->format = ctx_->pix_fmt;
    frame->width = ctx_->width;
    frame->height = ctx_->height;
    if (av_frame_get_buffer(frame.get(), 0) < 0) fail_about(path_, "out of memory for a frame");
    const uint8_t* src[4] = {rgb24.data_ptr<uint8_t>(), nullptr, nullptr, nullptr};
    const int src_stride[4] = {3 * ctx_->width, 0, 0, 0};
    sws_scale(sws_.get(), src, src_stride, 0, ctx_->height, frame->data, frame->linesize);
    frame->pts = pts;
    send(frame.get(), sink);
  }

  template <typename Sink>
  void flush(Sink&& sink) {
    send(nullptr, sink);
  }

 private:
  template <typename Sink>
  void send(const AVFrame* frame, Sink&& sink) {
    int rc = avcodec_send_frame(ctx_.get(), frame);
    if (rc < 0) fail_about(path_, "encoding failed: {}", error_text(rc));
    Packet packet = make_packet();
    while ((rc = avcodec_receive_packet(ctx_.get(), packet.get())) == 0) {
      sink(packet.get());
      av_packet_unref(packet.get());
    }
    if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) fail_about(path_, "encoding failed: {}", error_text(rc));
  }

  std::string path_;
  CodecContext ctx_;
  Sws sws_;
};

}  // namespace

class VideoWriter::Impl {
 public:
  virtual ~Impl() = default;
  virtual void write_picture(const at::Tensor& rgb24) = 0;
  virtual void finish() = 0;
  int64_t written = 0;
  int64_t width = 0, height = 0;
};

namespace {

// mp4 / webm / gif through a muxer into one temporary file.
class ContainerWriter final : public VideoWriter::Impl {
 public:
  ContainerWriter(const std::string& path, VideoFormat format, const VideoWriteOptions& options)
      : path_(path), tmp_(temp_path(path)), options_(options), target_(target_for(format)) {}

  void open(int64_t w, int64_t h) {
    width = w;
    height = h;
    AVFormatContext* raw = nullptr;
    int rc = avformat_alloc_output_context2(&raw, nullptr, target_.muxer, tmp_.c_str());
    if (rc < 0 || !raw) fail_about(path_, "cannot set up the {} muxer: {}", target_.muxer, error_text(rc));
    out_.reset(raw);
    encoder_ = std::make_unique<Encoder>(path_, target_, w, h, options_,
                                         (raw->oformat->flags & AVFMT_GLOBALHEADER) != 0);
    stream_ = avformat_new_stream(raw, nullptr);
    avcodec_parameters_from_context(stream_->codecpar, encoder_->context());
    stream_->time_base = encoder_->context()->time_base;
    stream_->avg_frame_rate = encoder_->context()->framerate;
    rc = avio_open(&raw->pb, tmp_.c_str(), AVIO_FLAG_WRITE);
    if (rc < 0) fail_about(path_, "cannot create {}: {}", tmp_, error_text(rc));
    opened_ = true;
    for (const auto& [key, value] : options_.metadata) av_dict_set(&raw->metadata, key.c_str(), value.c_str(), 0);
    AVDictionary* muxer_options = nullptr;
    if (std::string(target_.muxer) == "mp4") av_dict_set(&muxer_options, "movflags", "use_metadata_tags", 0);
    rc = avformat_write_header(raw, &muxer_options);
    av_dict_free(&muxer_options);
    if (rc < 0) fail_about(path_, "cannot write the {} header: {}", target_.muxer, error_text(rc));
  }

  ~ContainerWriter() override {
    if (opened_) avio_closep(&out_->pb);
    if (!finished_) std::remove(tmp_.c_str());
  }

  void write_picture(const at::Tensor& rgb24) override {
    encoder_->encode(rgb24, written++, [&](AVPacket* p) { mux(p); });
  }

  void finish() override {
    encoder_->flush([&](AVPacket* p) { mux(p); });
    int rc = av_write_trailer(out_.get());
    if (rc < 0) fail_about(path_, "cannot finish the file: {}", error_text(rc));
    avio_closep(&out_->pb);
    opened_ = false;
    std::error_code ec;
    fs::rename(tmp_, path_, ec);
    if (ec) fail_about(path_, "cannot rename {} into place: {}", tmp_, ec.message());
    finished_ = true;
  }

 private:
  struct OutputDeleter {
    void operator()(AVFormatContext* c) const { avformat_free_context(c); }
  };

  void mux(AVPacket* packet) {
    av_packet_rescale_ts(packet, encoder_->context()->time_base, stream_->time_base);
    packet->stream_index = stream_->index;
    const int rc = av_interleaved_write_frame(out_.get(), packet);
    if (rc < 0) fail_about(path_, "writing failed: {}", error_text(rc));
  }

  std::string path_, tmp_;
  VideoWriteOptions options_;
  Target target_;
  std::unique_ptr<AVFormatContext, OutputDeleter> out_;
  std::unique_ptr<Encoder> encoder_;
  AVStream* stream_ = nullptr;
  bool opened_ = false, finished_ = false;
};

// One png per frame: the pattern's printf expansion of the frame number, each file atomic.
class PngSequenceWriter final : public VideoWriter::Impl {
 public:
  PngSequenceWriter(const std::string& pattern, const VideoWriteOptions& options)
      : pattern_(pattern), options_(options) {}

  void open(int64_t w, int64_t h) {
    width = w;
    height = h;
    encoder_ = std::make_unique<Encoder>(pattern_, target_for(VideoFormat::kPngSequence), w, h, options_, false);
  }

  void write_picture(const at::Tensor& rgb24) override {
    const std::string path = frame_path(written++);
    const std::string tmp = temp_path(path);
    {
      std::ofstream out(tmp, std::ios::binary);
      if (!out) fail_about(path, "cannot create {}", tmp);
      encoder_->encode(rgb24, written, [&](AVPacket* p) { out.write(reinterpret_cast<const char*>(p->data), p->size); });
      if (!out) {
        std::remove(tmp.c_str());
        fail_about(path, "write failed");
      }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) fail_about(path, "cannot rename {} into place: {}", tmp, ec.message());
  }

  void finish() override {}

 private:
  std::string frame_path(int64_t index) const {
    std::vector<char> buffer(pattern_.size() + 32);
    std::snprintf(buffer.data(), buffer.size(), pattern_.c_str(), static_cast<int>(index));
    return buffer.data();
  }

  std::string pattern_;
  VideoWriteOptions options_;
  std::unique_ptr<Encoder> encoder_;
};

// The pattern must hold exactly one integer conversion (%d, %03d, …) and no other '%'.
void check_pattern(const std::string& pattern) {
  size_t conversions = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') continue;
    size_t j = i + 1;
    while (j < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[j]))) ++j;
    if (j >= pattern.size() || pattern[j] != 'd') {
      fail_about(pattern, "a frame pattern takes one %d (optionally %0Nd) and no other '%'");
    }
    ++conversions;
    i = j;
  }
  if (conversions != 1) fail_about(pattern, "a frame pattern takes exactly one %d, found {}", conversions);
  if (lower_extension(pattern) != ".png") fail_about(pattern, "frame sequences are written as .png");
}

}  // namespace

VideoFormat video_format_for(const std::string& path) {
  if (path.find('%') != std::string::npos) {
    check_pattern(path);
    return VideoFormat::kPngSequence;
  }
  const std::string ext = lower_extension(path);
  if (ext == ".mp4") return VideoFormat::kMp4;
  if (ext == ".webm") return VideoFormat::kWebm;
  if (ext == ".gif") return VideoFormat::kGif;
  fail_about(path, "unknown video output type '{}' (write .mp4, .webm, .gif, or a png pattern like frames/%03d.png)",
             ext);
}

bool is_video_path(const std::string& path) {
  if (path.find('%') != std::string::npos) return true;
  const std::string ext = lower_extension(path);
  return ext == ".mp4" || ext == ".webm" || ext == ".gif" || ext == ".avi" || ext == ".mkv" || ext == ".mov";
}

VideoWriter::VideoWriter(const std::string& path, int64_t width, int64_t height, const VideoWriteOptions& options) {
  ffmpeg::quiet_logs();
  const VideoFormat format = video_format_for(path);
  if (!(options.fps > 0) || options.fps > 1000) fail_about("--fps", "must be in (0, 1000], got {}", options.fps);
  if (width < 1 || height < 1) fail_about(path, "empty frames {} x {}", width, height);
  if (format == VideoFormat::kMp4 || format == VideoFormat::kWebm) {
    if (width % 2 || height % 2) fail_about(path, "mp4/webm (4:2:0) need even frame sizes, got {} x {}", width, height);
    const int max_crf = format == VideoFormat::kMp4 ? 51 : 63;
    if (options.crf > max_crf) fail_about("--crf", "must be in 0..{} for this format, got {}", max_crf, options.crf);
  }
  if (format == VideoFormat::kPngSequence) {
    auto impl = std::make_unique<PngSequenceWriter>(path, options);
    impl->open(width, height);
    impl_ = std::move(impl);
  } else {
    auto impl = std::make_unique<ContainerWriter>(path, format, options);
    impl->open(width, height);
    impl_ = std::move(impl);
  }
}

VideoWriter::~VideoWriter() = default;

void VideoWriter::write(const at::Tensor& frames) {
  if (frames.dim() != 4 || frames.size(0) != 3 || frames.size(2) != impl_->height || frames.size(3) != impl_->width) {
    fail("video frames: expected [3, t, {}, {}], got {}", impl_->height, impl_->width, shape_string(frames.sizes()));
  }
  for (int64_t t = 0; t < frames.size(1); ++t) impl_->write_picture(ffmpeg::to_rgb24(frames.select(1, t)));
}

void VideoWriter::finish() {
  if (impl_->written == 0) fail("video: no frames to write");
  impl_->finish();
}

int64_t VideoWriter::frames_written() const { return impl_->written; }

void write_video(const std::string& path, const at::Tensor& frames, const VideoWriteOptions& options) {
  if (frames.dim() != 4 || frames.size(0) != 3) {
    fail_about(path, "video frames must be [3, T, H, W], got {}", shape_string(frames.sizes()));
  }
  VideoWriter writer(path, frames.size(3), frames.size(2), options);
  writer.write(frames);
  writer.finish();
}

}  // namespace osp::io
