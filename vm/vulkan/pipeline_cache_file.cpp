#include "vm/vulkan/pipeline_cache_file.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>

namespace polymer::vk {

std::filesystem::path pipeline_cache_path(const VulkanContext& ctx, const std::filesystem::path& dir) {
    VkPhysicalDeviceProperties props{};
    vkGetPhysicalDeviceProperties(ctx.physical_device(), &props);
    char name[64];
    std::snprintf(name, sizeof name, "pipeline-cache-%04x-%04x.bin", props.vendorID, props.deviceID);
    return dir / name;
}

std::optional<std::vector<std::byte>> load_pipeline_cache(const VulkanContext& ctx, const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::vector<std::byte> data;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        auto* b = reinterpret_cast<const std::byte*>(buf);
        data.insert(data.end(), b, b + in.gcount());
        if (data.size() > (256u << 20)) return std::nullopt;  // not a cache we wrote
    }
    // The header Vulkan defines: length, version, vendor, device, UUID.
    VkPipelineCacheHeaderVersionOne header{};
    if (data.size() < sizeof header) return std::nullopt;
    std::memcpy(&header, data.data(), sizeof header);
    VkPhysicalDeviceProperties props{};
    vkGetPhysicalDeviceProperties(ctx.physical_device(), &props);
    if (header.headerSize < sizeof header || header.headerSize > data.size() ||
        header.headerVersion != VK_PIPELINE_CACHE_HEADER_VERSION_ONE || header.vendorID != props.vendorID ||
        header.deviceID != props.deviceID ||
        std::memcmp(header.pipelineCacheUUID, props.pipelineCacheUUID, VK_UUID_SIZE) != 0)
        return std::nullopt;
    return data;
}

Status save_pipeline_cache(const std::filesystem::path& file, std::span<const std::byte> data) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec) return Error{"cannot create " + file.parent_path().string() + ": " + ec.message()};
    std::filesystem::path tmp = file;
    tmp += ".tmp" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
        if (!out.flush()) {
            std::filesystem::remove(tmp, ec);
            return Error{"cannot write " + tmp.string()};
        }
    }
    std::filesystem::rename(tmp, file, ec);
    if (ec) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        return Error{"cannot rename " + tmp.string() + " to " + file.string() + ": " + ec.message()};
    }
    return ok_status();
}

}  // namespace polymer::vk
