#pragma once
// Internal to the video reader and writer: ffmpeg error text, owning pointers for ffmpeg objects,
// and the conversions between float frames in [−1, 1] and 8-bit RGB pictures.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <ATen/ATen.h>

#include <memory>
#include <string>

namespace osp::io::ffmpeg {

// Only ffmpeg's errors reach stderr (its info lines would flood command output); ours carry the detail.
void quiet_logs();

// ffmpeg's text for an AVERROR code.
std::string error_text(int code);

struct FormatInputDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using FormatInput = std::unique_ptr<AVFormatContext, FormatInputDeleter>;
using CodecContext = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using Frame = std::unique_ptr<AVFrame, FrameDeleter>;
using Packet = std::unique_ptr<AVPacket, PacketDeleter>;
using Sws = std::unique_ptr<SwsContext, SwsDeleter>;

Frame make_frame();
Packet make_packet();

// A frame [3, H, W] float in [−1, 1] → uint8 [H, W, 3] (RGB24, rounded, clamped).
at::Tensor to_rgb24(const at::Tensor& frame);
// uint8 [T, H, W, 3] RGB24 pictures → float [3, T, H, W] in [−1, 1].
at::Tensor from_rgb24(const at::Tensor& pictures);

}  // namespace osp::io::ffmpeg
