#include "osp/diffusion/noise.h"

#include <ATen/CPUGeneratorImpl.h>

#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/io/input_tensors.h"
#include "osp/io/tensor_source.h"

namespace osp::diffusion {

at::Tensor initial_noise(at::IntArrayRef shape, uint64_t seed) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn(shape, generator, at::TensorOptions().dtype(at::kFloat).device(at::kCPU));
}

std::vector<int64_t> latent_shape(int64_t frames, int64_t height, int64_t width, int64_t channels,
                                  LatentStrides strides) {
  const int64_t t = strides.time, s = strides.space;
  require(t >= 1 && s >= 1, "latent shape: strides {} x {} must be positive", t, s);
  require(frames >= 1 && (frames - 1) % t == 0, "latent shape: frame count {} is not {}k + 1", frames, t);
  require(height > 0 && width > 0 && height % s == 0 && width % s == 0,
          "latent shape: size {}x{} (width x height) is not a positive multiple of {}", width, height, s);
  return {channels, (frames - 1) / t + 1, height / s, width / s};
}

namespace {

// The noise tensor's name: "noise", else the only tensor of the file.
std::string noise_tensor_name(const io::TensorSource& source) {
  if (source.contains("noise")) return "noise";
  if (source.names().size() == 1) return source.names().front();
  fail_about(source.path(), "no tensor named 'noise' (and {} tensors, so none is taken as the noise)",
             source.names().size());
}

}  // namespace

at::Tensor load_noise(const std::string& path, at::IntArrayRef expected_shape) {
  auto source = io::open_tensor_source(path);
  const std::string name = noise_tensor_name(*source);
  at::Tensor noise = io::load_input_tensor(*source, name, io::DType::kF32);
  const std::vector<int64_t> expected(expected_shape.begin(), expected_shape.end());
  if (noise.sizes().equals(expected_shape)) return noise;
  if (noise.dim() == static_cast<int64_t>(expected.size()) + 1 && noise.size(0) == 1 &&
      noise.sizes().slice(1).equals(expected_shape)) {
    return noise.squeeze(0);
  }
  if (noise.dim() + 1 == static_cast<int64_t>(expected.size()) && expected.front() == 1 &&
      noise.sizes().equals(expected_shape.slice(1))) {
    return noise.unsqueeze(0);
  }
  fail_about(path, "noise tensor '{}' has shape {}, expected {} for this generation", name,
             shape_string(noise.sizes()), shape_string(expected_shape));
}

}  // namespace osp::diffusion
