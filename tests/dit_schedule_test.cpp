// The OSP-Next block schedule against the released models' table (docs/skiparse.md "Block schedule").
#include <gtest/gtest.h>

#include "osp/core/error.h"
#include "osp/models/dit/schedule.h"

namespace {

using osp::dit::BlockKind;
using osp::dit::DiTConfig;

// Block indices of one kind.
std::vector<int64_t> indices_of(const std::vector<BlockKind>& kinds, BlockKind kind) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < kinds.size(); ++i)
    if (kinds[i] == kind) out.push_back(static_cast<int64_t>(i));
  return out;
}

std::vector<int64_t> range(int64_t begin, int64_t end, int64_t step = 1) {
  std::vector<int64_t> out;
  for (int64_t i = begin; i < end; i += step) out.push_back(i);
  return out;
}

TEST(BlockSchedule, Released14BMatchesTheSpecTable) {
  DiTConfig c = DiTConfig::preset("osp-next-14b");
  auto kinds = osp::dit::block_schedule(c);
  ASSERT_EQ(kinds.size(), 40u);
  std::vector<int64_t> full = range(0, 4);
  for (int64_t i : range(36, 40)) full.push_back(i);
  EXPECT_EQ(indices_of(kinds, BlockKind::kFull), full);
  EXPECT_EQ(indices_of(kinds, BlockKind::kToken), range(4, 35, 2));
  EXPECT_EQ(indices_of(kinds, BlockKind::kGroup), range(5, 36, 2));
  EXPECT_EQ(osp::dit::describe_schedule(c),
            "dual_end P=2: full x8 (0-3,36-39); token x16 (4,6,…,34); group x16 (5,7,…,35)");
}

TEST(BlockSchedule, Released13BLayoutAndZeroFullBlocks) {
  DiTConfig c = DiTConfig::preset("wan2.1-t2v-1.3b");
  c.skiparse_model_type = "dual_end";
  c.sparse_ratio = 2;
  c.num_full_blocks = 8;
  auto kinds = osp::dit::block_schedule(c);
  EXPECT_EQ(indices_of(kinds, BlockKind::kToken), range(4, 25, 2));  // 11 token blocks
  EXPECT_EQ(indices_of(kinds, BlockKind::kGroup), range(5, 26, 2));  // 11 group blocks
  c.num_full_blocks = 0;  // every block sparse: block 0 token, block L−1 group
  kinds = osp::dit::block_schedule(c);
  EXPECT_EQ(kinds.front(), BlockKind::kToken);
  EXPECT_EQ(kinds.back(), BlockKind::kGroup);
  EXPECT_TRUE(indices_of(kinds, BlockKind::kFull).empty());
  EXPECT_EQ(osp::dit::describe_schedule(c), "dual_end P=2: token x15 (0,2,…,28); group x15 (1,3,…,29)");
}

TEST(BlockSchedule, FullModelsAreAllFullAndBadSchedulesAreErrors) {
  DiTConfig c = DiTConfig::preset("wan2.1-t2v-14b");
  EXPECT_EQ(indices_of(osp::dit::block_schedule(c), BlockKind::kFull).size(), 40u);
  EXPECT_EQ(osp::dit::describe_schedule(c), "40 full");
  c.skiparse_model_type = "dual_end";
  c.sparse_ratio = 2;
  c.num_full_blocks = 6;  // not a multiple of 4
  EXPECT_THROW(osp::dit::block_schedule(c), osp::Error);
  c.num_full_blocks = 24;  // more than L/2
  EXPECT_THROW(osp::dit::block_schedule(c), osp::Error);
}

}  // namespace
