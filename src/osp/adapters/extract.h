#pragma once
// `osp lora extract` (docs/lora.md "Extract"): a fine-tune turned into a small adapter, the inverse
// of merge. For every linear whose weight differs between the base and the tuned checkpoint, the
// difference D = W_tuned − W_base [out, in] is factored by a truncated SVD, D ≈ U_r·S_r·V_rᵀ, and
// stored as B = U_r·S_r [out, r], A = V_rᵀ [r, in] with alpha = r (scale 1), so that merging the
// adapter into the base gives W_base + B·A. A rank-r difference is recovered exactly (up to float
// rounding). Bias differences are stored as diff_b. Differences that are not linear weights or
// biases (norms, modulation, the patch embedding) cannot be expressed and are reported.
#include <string>
#include <vector>

#include "osp/io/lora_file.h"

namespace osp::adapters {

struct ExtractedModule {
  std::string module;
  int64_t rank = 0;
  double relative_error = 0;  // ‖D − B·A‖_F / ‖D‖_F
};

struct ExtractResult {
  io::LoraFile file;
  std::vector<ExtractedModule> modules;
  double relative_error = 0;                // over all extracted weights together
  std::vector<std::string> not_expressible;  // differing tensors an adapter cannot carry
};

// Factors of one difference [out, in] at rank min(rank, out, in): {A [r, in], B [out, r]} float32,
// the SVD computed in float64.
std::pair<at::Tensor, at::Tensor> low_rank_factors(const at::Tensor& difference, int64_t rank);

// Compares every tensor of `base` and `tuned` (any checkpoint layout, mapped to canonical names);
// osp::Error when their names or shapes differ, or when rank < 1.
ExtractResult extract_lora(const std::string& base, const std::string& tuned, int64_t rank);

}  // namespace osp::adapters
