#include "osp/io/video_ffmpeg.h"

namespace osp::io::ffmpeg {

void quiet_logs() {
  if (av_log_get_level() > AV_LOG_ERROR) av_log_set_level(AV_LOG_ERROR);
}

std::string error_text(int code) {
  char buffer[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buffer, sizeof(buffer));
  return buffer;
}

Frame make_frame() { return Frame(av_frame_alloc()); }
Packet make_packet() { return Packet(av_packet_alloc()); }

at::Tensor to_rgb24(const at::Tensor& frame) {
  return frame.to(at::kFloat).add(1.0).mul_(127.5).round_().clamp_(0, 255).to(at::kByte).permute({1, 2, 0}).contiguous();
}

at::Tensor from_rgb24(const at::Tensor& pictures) {
  return pictures.permute({3, 0, 1, 2}).to(at::kFloat).div_(127.5).sub_(1.0).contiguous();
}

}  // namespace osp::io::ffmpeg
