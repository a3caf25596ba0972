#pragma once
// The streaming cache (docs/memory.md "Streaming cache"). A DiT streamed block by block reads every
// block at every step; when the checkpoint stores its tensors in another dtype than the
// parameters' (the released float32 Wan weights run in bf16), each step would read twice the bytes
// and convert every tensor again. Such a checkpoint is converted once into a safetensors file in
// the parameters' dtypes, under canonical names, keyed by the checkpoint files' paths, sizes and
// modification times and the dtypes; the blocks then stream from it, read in place. So is a torch
// zip whose entries are compressed (re-zipped by a tool: torch.save stores them), which could
// otherwise only be inflated again at every read.
#include <string>

#include "osp/models/dit/model.h"

namespace osp::pipeline {

// $XDG_CACHE_HOME/osp/streaming, else $HOME/.cache/osp/streaming.
std::string default_streaming_cache_dir();

// The file `model`'s blocks should stream from: `weights` itself when `directory` is empty, the
// checkpoint holds 8-bit weights, or its blocks are uncompressed and take no more than 1.1× their
// bytes in memory; else the
// cache file under `directory`, written now (one tensor at a time, atomically, with progress) unless
// an earlier run left it. When the file system lacks the room for it, a warning and `weights`.
std::string streaming_source(const std::string& weights, const dit::WanDiT& model, const std::string& directory);

}  // namespace osp::pipeline
