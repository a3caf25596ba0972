#include "osp/pipeline/output_path.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "osp/core/error.h"
#include "osp/io/video_writer.h"

namespace osp::pipeline {
namespace {

namespace fs = std::filesystem;

bool has_extension(const std::string& path, const std::string& extension) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == extension;
}

}  // namespace

OutputKind output_kind(const std::string& path) {
  if (has_extension(path, ".safetensors")) return OutputKind::kSafetensors;
  if (io::is_video_path(path)) {
    try {
      io::video_format_for(path);  // the formats the writer makes (the reader takes more)
      return OutputKind::kVideo;
    } catch (const Error&) {
    }
  }
  fail_about("-o", "cannot tell the format of '{}': use .mp4, .webm, .gif, a png pattern such as frames/%03d.png, "
             "or .safetensors (latents and frames)", path);
}

void check_output_writable(const std::string& path) {
  if (path.empty()) fail_about("-o", "no output path given");
  const fs::path target(path);
  std::error_code ec;
  if (fs::is_directory(target, ec)) fail_about(path, "is a directory; give a file name such as {}/out.mp4", path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) fail_about(path, "the output directory '{}' does not exist", dir.string());
  const fs::path probe = dir / fmt::format(".osp-write-probe.{}", getpid());
  {
    std::ofstream file(probe);
    if (!file) fail_about(path, "cannot create files in '{}' (permission denied or read-only)", dir.string());
  }
  fs::remove(probe, ec);
}

std::string numbered_output(const std::string& path, int64_t index) {
  const fs::path p(path);
  const std::string number = fmt::format("{:03d}", index);
  const std::string name = p.filename().string();
  if (name.find('%') != std::string::npos) return (p.parent_path() / (number + "_" + name)).string();
  return (p.parent_path() / (p.stem().string() + "_" + number + p.extension().string())).string();
}

}  // namespace osp::pipeline
