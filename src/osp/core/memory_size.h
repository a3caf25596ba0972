#pragma once
// Memory sizes as the command line writes them ("80G", "24GiB", "512M") and as this machine has
// them (physical and available memory), for the memory planners and --max-memory.
#include <cstdint>
#include <string>

namespace osp {

// "80G", "24GiB", "512M", "1.5T", plain bytes (units are binary: G = GiB); osp::Error naming `option`.
int64_t parse_memory_size(const std::string& text, const std::string& option);

// Physical memory of this machine in bytes.
int64_t machine_memory_bytes();

// Memory the kernel reports as available to a new allocation without swapping (MemAvailable of
// /proc/meminfo); the physical memory where that is unknown.
int64_t available_memory_bytes();

// "1.23 GiB" / "456.0 MiB" / "12 KiB": the unit that keeps the figure between 1 and 1024.
std::string format_bytes(int64_t bytes);

}  // namespace osp
