#include "osp/core/runtime.h"

#include "osp/core/cpu_block_cache.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <fstream>
#include <string>
#include <thread>

#include "osp/core/error.h"

namespace osp {

void set_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;
  at::set_num_threads(n);
}

c10::Device parse_device(const std::string& text) {
  if (text == "auto") return at::hasCUDA() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (text == "cpu") return c10::Device(c10::kCPU);
  if (text.rfind("cuda", 0) == 0) {
    if (!at::hasCUDA()) fail_about("--device", "'{}' asked for, but this build or machine has no CUDA", text);
    try {
      return c10::Device(text);
    } catch (const std::exception&) {
      fail_about("--device", "cannot parse '{}'", text);
    }
  }
  fail_about("--device", "unknown device '{}' (expected cpu, cuda, cuda:N or auto)", text);
}

namespace {

// One "Key: value kB" field of /proc/self/status in bytes, 0 where absent.
size_t status_kib_field(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == field) {
      size_t kib = 0;
      status >> kib;
      return kib * 1024;
    }
    std::string rest;
    std::getline(status, rest);
  }
  return 0;
}

}  // namespace

size_t peak_rss_bytes() { return status_kib_field("VmHWM:"); }

size_t current_rss_bytes() { return status_kib_field("VmRSS:"); }

void release_free_memory() {
  release_cpu_block_cache();
#ifdef __GLIBC__
  ::malloc_trim(0);
#endif
}

bool reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

}  // namespace osp
