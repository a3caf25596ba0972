// Precompiled header: the heavy LibTorch and third-party headers most translation units need.
#pragma once
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <string>
#include <vector>
