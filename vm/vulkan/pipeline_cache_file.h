// The driver's pipeline cache on disk, so kernels compile once per machine,
// not once per run: pipeline-cache-<vendor>-<device>.bin under a cache dir.
// A missing, short, corrupt or foreign file (other vendor, device or driver
// UUID) is ignored without error; writes go to a temp file renamed in place.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "vm/vulkan/vulkan_context.h"

namespace polymer::vk {

// <dir>/pipeline-cache-<vendorID hex>-<deviceID hex>.bin for this device.
std::filesystem::path pipeline_cache_path(const VulkanContext& ctx, const std::filesystem::path& dir);

// The file's bytes when its header (VkPipelineCacheHeaderVersionOne) matches
// this device's vendor, device and pipelineCacheUUID; nullopt otherwise.
std::optional<std::vector<std::byte>> load_pipeline_cache(const VulkanContext& ctx, const std::filesystem::path& file);

// Writes `data` atomically (temp file + rename), creating the directory.
Status save_pipeline_cache(const std::filesystem::path& file, std::span<const std::byte> data);

}  // namespace polymer::vk
