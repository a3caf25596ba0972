#pragma once
// SHA-256 of files' contents, hex-encoded: the identity of a base model or an adapter in
// generation metadata and training checkpoints (a path alone may point at other weights later).
#include <string>
#include <vector>

namespace osp::io {

// SHA-256 of one file (streamed, 1 MiB at a time). osp::Error naming the file when unreadable.
std::string sha256_file(const std::string& path);

// One SHA-256 over several files in the given order (a sharded checkpoint, or a folder's weights).
std::string sha256_files(const std::vector<std::string>& paths);

// SHA-256 of a string (cache keys made of file identities).
std::string sha256_text(const std::string& text);

// The weight files behind a weights path: the file itself, the shards of an index
// (*.safetensors.index.json, in the index's order), or the weights a directory holds (as
// open_tensor_source chooses them). osp::Error when there are none.
std::vector<std::string> weight_files(const std::string& path);

}  // namespace osp::io
