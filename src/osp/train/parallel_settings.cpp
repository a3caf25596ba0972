#include "osp/train/parallel_settings.h"

#include <algorithm>
#include <string>

namespace osp::train {

void read_parallel_settings(yaml::Section s, ParallelSettings& c) {
  const std::string shard = s.get<std::string>("shard", "none");
  if (shard == "none") {
    c.shard = Sharding::kNone;
  } else if (shard == "full") {
    c.shard = Sharding::kFull;
  } else {
    s.fail_field("shard", "must be none (replicated data parallel) or full (fully sharded), got '{}'", shard);
  }
  const double bucket_mb = s.get<double>("bucket_mb", static_cast<double>(c.bucket_bytes) / (1 << 20));
  if (!(bucket_mb > 0 && bucket_mb <= 1024)) s.fail_field("bucket_mb", "must be in (0, 1024] MiB, got {}", bucket_mb);
  c.bucket_bytes = std::max<int64_t>(1, static_cast<int64_t>(bucket_mb * (1 << 20)));
  c.sp = s.get<int>("sp", 1);
  c.ssp = s.get<int>("ssp", 1);
  if (c.sp < 1 || c.sp > 64) s.fail_field("sp", "must be in [1, 64], got {}", c.sp);
  if (c.ssp < 1 || c.ssp > 64) s.fail_field("ssp", "must be in [1, 64], got {}", c.ssp);
  s.finish();
}

}  // namespace osp::train
