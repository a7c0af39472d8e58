// One lavapipe (or GPU) backend per test program, made on first use, for
// the tests that compare the CPU backend with Vulkan; null when this machine
// has no Vulkan device (the tests then skip with that reason). The pipeline
// cache is off so every run compiles what it checks.
#pragma once

#include <memory>

#include "vm/vulkan/vulkan_backend.h"

namespace polymer::test {

inline std::unique_ptr<VulkanBackend>& shared_vulkan() {
    static std::unique_ptr<VulkanBackend> vk = [] {
        VulkanBackendOptions o;
        o.pipeline_cache_enabled = false;
        auto r = VulkanBackend::create(o);
        return r.ok() ? std::move(r).value() : nullptr;
    }();
    return vk;
}

}  // namespace polymer::test
