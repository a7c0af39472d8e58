#include "vm/vulkan/device_listing.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "vm/vulkan/vulkan_context.h"

namespace polymer {
namespace {

TEST(DeviceListing, OneLinePerDeviceWithNameTypeAndBackend) {
    auto devices = vk::VulkanContext::list_devices();
    ASSERT_TRUE(devices) << devices.error();
    std::string text = describe_vulkan_devices();
    std::size_t lines = 0;
    for (char c : text) lines += c == '\n';
    EXPECT_EQ(lines, devices.value().size()) << text;
    const vk::DeviceInfo& first = devices.value().front();
    EXPECT_EQ(text.rfind("0: " + first.name + ", " + vk::device_type_name(first.type) + ", ", 0), 0u) << text;
    EXPECT_NE(text.find("Vulkan " + first.api_version_text() + ", backend vulkan\n"), std::string::npos) << text;
}

TEST(DeviceListing, NoLoaderDevicesGivesAClearLineNotACrash) {
    // Point the loader at an ICD file that does not exist: no devices.
    ASSERT_EQ(std::getenv("VK_DRIVER_FILES"), nullptr) << "the test sets VK_ICD_FILENAMES, which VK_DRIVER_FILES overrides";
    const char* old = std::getenv("VK_ICD_FILENAMES");
    std::string saved = old ? old : "";
    setenv("VK_ICD_FILENAMES", "/nonexistent/polymer_icd.json", 1);
    std::string text = describe_vulkan_devices();
    if (old) setenv("VK_ICD_FILENAMES", saved.c_str(), 1);
    else unsetenv("VK_ICD_FILENAMES");
    EXPECT_EQ(text.rfind("no Vulkan devices: ", 0), 0u) << text;
    EXPECT_EQ(text.back(), '\n');
    EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line: " << text;
}

}  // namespace
}  // namespace polymer
