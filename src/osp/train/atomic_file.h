#pragma once
// Small text outputs (manifests, corpora, cache.json) written atomically: a temporary file beside
// the target, flushed, then renamed into place, so a reader never sees half a file.
#include <string>

namespace osp::train {

// Throws osp::Error naming `path` when the file cannot be written or renamed.
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace osp::train
