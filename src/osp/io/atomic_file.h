#pragma once
// Files that appear whole or not at all: written to `<path>.tmp.<pid>`, fsynced, renamed into
// place, and the directory entry synced (the convention of every output the engine writes).
// LibTorch-free.
#include <string>
#include <string_view>

namespace osp::io {

// The temporary name a file is written under before its rename: "<path>.tmp.<pid>".
std::string temporary_path(const std::string& path);

// Fsyncs the directory holding `path`, so that a rename into it survives a crash. Best effort.
void sync_parent_directory(const std::string& path);

// Writes `bytes` to `path` atomically. Throws osp::Error naming the file on any I/O failure (the
// temporary file is removed then).
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace osp::io
