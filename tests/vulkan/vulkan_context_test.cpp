// The Vulkan device layer on the machine's real driver (lavapipe in CI):
// enumeration, the "no driver" error, validation counting, embedded shaders,
// the pipeline cache.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstdio>
#include <unistd.h>

#include "shaders/embedded_shaders.h"
#include "vm/vulkan/compute_pipeline.h"
#include "vm/vulkan/vulkan_context.h"
#include "vm/vulkan/vulkan_vector_ops.h"

namespace polymer::vk {
namespace {

TEST(VulkanDevices, EnumerationFindsADevice) {
    auto devices = VulkanContext::list_devices();
    ASSERT_TRUE(devices.ok()) << devices.error();
    ASSERT_FALSE(devices.value().empty());
    for (const DeviceInfo& d : devices.value()) {
        EXPECT_FALSE(d.name.empty());
        EXPECT_GT(d.memory_bytes, 0u) << d.name;
        EXPECT_GE(d.api_version, VK_API_VERSION_1_1) << d.name;
        std::printf("device %u: %s (%s, %llu MiB, Vulkan %s)\n", d.index, d.name.c_str(), device_type_name(d.type),
                    static_cast<unsigned long long>(d.memory_bytes >> 20), d.api_version_text().c_str());
    }
}

TEST(VulkanDevices, ContextOpensDeviceZero) {
    auto ctx = VulkanContext::create({.validation = false});
    ASSERT_TRUE(ctx.ok()) << ctx.error();
    EXPECT_NE(ctx.value()->device(), VK_NULL_HANDLE);
    EXPECT_EQ(ctx.value()->device_info().index, 0u);
    EXPECT_FALSE(ctx.value()->validation_enabled());
}

TEST(VulkanDevices, MissingDeviceIndexIsAClearError) {
    auto ctx = VulkanContext::create({.validation = false, .device_index = 99});
    ASSERT_FALSE(ctx.ok());
    EXPECT_NE(ctx.error().find("Vulkan device 99 does not exist"), std::string::npos) << ctx.error();
}

// The loader reads VK_ICD_FILENAMES when an instance is made, so the check
// runs in a child process where it is set.
TEST(VulkanDevicesDeathTest, NoDriverGivesClearError) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    auto child = [] {
        setenv("VK_ICD_FILENAMES", "/dev/null", 1);
        auto list = VulkanContext::list_devices();
        auto ctx = VulkanContext::create({.validation = false});
        if (list.ok() || ctx.ok()) std::_Exit(1);
        std::fprintf(stderr, "%s\n%s\n", list.error().c_str(), ctx.error().c_str());
        std::_Exit(3);
    };
    EXPECT_EXIT(child(), testing::ExitedWithCode(3),
                "no Vulkan device found \\(VK_ICD_FILENAMES=/dev/null hides the installed drivers\\?\\)");
}

TEST(VulkanValidation, MessengerCountsErrors) {
    auto ctx = VulkanContext::create({.validation = true});
    ASSERT_TRUE(ctx.ok()) << ctx.error();
    ASSERT_TRUE(ctx.value()->validation_enabled());
    EXPECT_EQ(ctx.value()->validation_errors(), 0u);
    ctx.value()->inject_debug_message(VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT, "injected by the test");
    EXPECT_EQ(ctx.value()->validation_errors(), 1u);
}

TEST(VulkanValidation, EnvironmentTurnsItOn) {
    setenv("POLYMER_VK_VALIDATION", "1", 1);
    auto ctx = VulkanContext::create();
    unsetenv("POLYMER_VK_VALIDATION");
    ASSERT_TRUE(ctx.ok()) << ctx.error();
    EXPECT_TRUE(ctx.value()->validation_enabled());
}

TEST(EmbeddedShaders, EveryShaderIsSpirvAndFindable) {
    auto all = shaders::all();
    ASSERT_GE(all.size(), 60u);
    for (std::size_t i = 0; i < all.size(); ++i) {
        ASSERT_GE(all[i].words.size(), 5u) << all[i].name;
        EXPECT_EQ(all[i].words[0], 0x07230203u) << all[i].name;  // SPIR-V magic
        if (i > 0) {
            EXPECT_LT(all[i - 1].name, all[i].name);
        }
        auto found = shaders::find(all[i].name);
        ASSERT_TRUE(found.has_value()) << all[i].name;
        EXPECT_EQ(found->data(), all[i].words.data());
    }
    EXPECT_TRUE(shaders::find("vadd_f32").has_value());
    EXPECT_FALSE(shaders::find("vadd_f64").has_value());
}

TEST(PipelineCache, KeyedBySpirvHash) {
    auto ctx = VulkanContext::create({.validation = false});
    ASSERT_TRUE(ctx.ok()) << ctx.error();
    PipelineCache cache(*ctx.value());
    auto add = *shaders::find("vadd_f32");
    auto sub = *shaders::find("vsub_f32");
    EXPECT_NE(spirv_hash(add), spirv_hash(sub));
    PipelineShape shape{3, sizeof(PushConstants)};
    auto p1 = cache.get(add, shape);
    ASSERT_TRUE(p1.ok()) << p1.error();
    auto p2 = cache.get(add, shape);
    ASSERT_TRUE(p2.ok());
    EXPECT_EQ(p1.value(), p2.value());
    auto p3 = cache.get(sub, shape);
    ASSERT_TRUE(p3.ok());
    EXPECT_NE(p1.value(), p3.value());
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_EQ(cache.hits(), 1u);
    EXPECT_EQ(cache.misses(), 2u);
}

}  // namespace
}  // namespace polymer::vk
