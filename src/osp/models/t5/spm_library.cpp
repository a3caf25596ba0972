#include "osp/models/t5/spm_library.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>

#include "osp/core/error.h"
#include "osp/core/log.h"

namespace osp::t5 {

// Defined in the source that cmake/tokenizer.cmake generates in the build directory: where the
// build put the bridge, and where `cmake --install` puts it under the configured prefix.
extern const char* const kSpmBridgeBuildPath;
extern const char* const kSpmBridgeInstallPath;

namespace {

namespace fs = std::filesystem;

constexpr const char* kLibraryName = "libosp_spm.so";
constexpr const char* kEnvironment = "OSP_SPM_BRIDGE";

std::string executable_directory() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

// The folder of the file that holds this code: the executable for a static link, libosp.so when a
// program (Python through ctypes, say) loaded the engine as a shared library.
std::string module_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&module_directory), &info) == 0 || info.dli_fname == nullptr) return {};
  std::error_code ec;
  const fs::path file = fs::canonical(info.dli_fname, ec);
  return ec ? std::string() : file.parent_path().string();
}

template <typename Fn>
void resolve(void* handle, const std::string& path, const char* symbol, Fn& out) {
  void* address = dlsym(handle, symbol);
  if (address == nullptr) fail_about(path, "SentencePiece bridge lacks the entry point {}", symbol);
  out = reinterpret_cast<Fn>(address);
}

// The bridge goes into a link namespace of its own (dlmopen): it gets its own libstdc++ and
// protobuf, and no symbol resolves across the boundary in either direction, which is what the
// plain C interface is for. Where a new namespace cannot be made (glibc allows 16; a namespace
// needs static TLS room), RTLD_DEEPBIND is the fallback: the bridge's own symbols first, which
// also keeps the protobufs apart but which AddressSanitizer's runtime refuses.
void* open_isolated(const std::string& path) {
  void* handle = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle != nullptr) return handle;
  const std::string namespace_error = dlerror();
  handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (handle == nullptr) {
    fail_about(path, "cannot load the SentencePiece bridge: {} (in a namespace of its own: {})", dlerror(),
               namespace_error);
  }
  log::debug("SentencePiece bridge opened with RTLD_DEEPBIND (no link namespace: {})", namespace_error);
  return handle;
}

SpmLibrary open_library() {
  const std::vector<std::string> candidates = spm_bridge_candidates();
  std::string path;
  for (const std::string& candidate : candidates) {
    if (fs::is_regular_file(candidate)) {
      path = candidate;
      break;
    }
  }
  if (path.empty()) {
    std::string searched;
    for (const std::string& c : candidates) searched += (searched.empty() ? "" : ", ") + c;
    fail("SentencePiece bridge {} not found (searched: {}); build the osp_spm target or set {} to its path",
         kLibraryName, searched, kEnvironment);
  }
  void* handle = open_isolated(path);
  decltype(&osp_spm_abi_version) abi_version = nullptr;
  resolve(handle, path, "osp_spm_abi_version", abi_version);
  if (abi_version() != OSP_SPM_ABI_VERSION) {
    fail_about(path, "SentencePiece bridge has ABI version {}, this program needs {} (rebuild osp_spm)", abi_version(),
               OSP_SPM_ABI_VERSION);
  }
  SpmLibrary library;
  library.path = path;
  resolve(handle, path, "osp_spm_load", library.load);
  resolve(handle, path, "osp_spm_free", library.free);
  resolve(handle, path, "osp_spm_vocab_size", library.vocab_size);
  resolve(handle, path, "osp_spm_encode", library.encode);
  resolve(handle, path, "osp_spm_id_to_piece", library.id_to_piece);
  resolve(handle, path, "osp_spm_piece_to_id", library.piece_to_id);
  resolve(handle, path, "osp_spm_train", library.train);
  return library;
}

}  // namespace

std::vector<std::string> spm_bridge_candidates() {
  if (const char* env = std::getenv(kEnvironment); env != nullptr && *env != '\0') return {env};
  std::vector<std::string> out;
  const std::string exe_dir = executable_directory();
  if (!exe_dir.empty()) {
    out.push_back((fs::path(exe_dir) / kLibraryName).string());
    out.push_back((fs::path(exe_dir).parent_path() / "lib" / "osp-next" / kLibraryName).string());  // an installed tree
  }
  const std::string module_dir = module_directory();
  if (!module_dir.empty() && module_dir != exe_dir) {
    out.push_back((fs::path(module_dir) / "osp-next" / kLibraryName).string());  // beside an installed libosp.so
  }
  out.push_back(kSpmBridgeInstallPath);
  out.push_back(kSpmBridgeBuildPath);
  return out;
}

const SpmLibrary& spm_library() {
  // Opened once; a failure is not cached, so that a later call after fixing the path can succeed.
  static std::mutex mutex;
  static std::unique_ptr<SpmLibrary> library;
  std::lock_guard<std::mutex> lock(mutex);
  if (!library) library = std::make_unique<SpmLibrary>(open_library());
  return *library;
}

void train_sentencepiece(const std::string& arguments) {
  char error[1024] = {};
  if (spm_library().train(arguments.c_str(), error, sizeof error) != 0) {
    fail("SentencePiece training failed ({}): {}", arguments, error);
  }
}

}  // namespace osp::t5
