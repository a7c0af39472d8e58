#include "vm/vulkan/float_controls.h"

#include <glslang/SPIRV/spirv.hpp>

#include <algorithm>
#include <cstring>

namespace polymer::vk {
namespace {

constexpr std::size_t kHeaderWords = 5;
constexpr std::uint32_t kFloat32 = 32;
constexpr std::uint32_t kFloat64 = 64;
constexpr char kExtension[] = "SPV_KHR_float_controls";

std::uint32_t instruction(spv::Op op, std::size_t words) { return static_cast<std::uint32_t>(words << 16) | op; }

struct Mode {
    bool wanted;
    spv::Capability capability;
    spv::ExecutionMode mode;
    std::uint32_t width;
};

std::string describe_modes(bool rte, bool signed_zero_inf_nan, bool denorm_preserve) {
    std::string s;
    auto add = [&](bool on, const char* what) {
        if (!on) return;
        if (!s.empty()) s += ", ";
        s += what;
    };
    add(rte, "round-to-nearest-even");
    add(signed_zero_inf_nan, "signed zero/inf/nan kept");
    add(denorm_preserve, "denormals kept");
    return s;
}

}  // namespace

std::string FloatControls::describe() const {
    std::string s = describe_modes(rounding_rte, signed_zero_inf_nan, denorm_preserve);
    const std::string wide = describe_modes(rounding_rte64, signed_zero_inf_nan64, denorm_preserve64);
    if (s.empty()) s = "none";
    return wide.empty() ? s : s + "; binary64: " + wide;
}

FloatControls query_float_controls(VkPhysicalDevice device, bool has_extension) {
    if (!has_extension) return {};
    VkPhysicalDeviceFloatControlsPropertiesKHR fc{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FLOAT_CONTROLS_PROPERTIES_KHR};
    VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    props.pNext = &fc;
    vkGetPhysicalDeviceProperties2(device, &props);
    return {fc.shaderRoundingModeRTEFloat32 == VK_TRUE,  fc.shaderSignedZeroInfNanPreserveFloat32 == VK_TRUE,
            fc.shaderDenormPreserveFloat32 == VK_TRUE,   fc.shaderRoundingModeRTEFloat64 == VK_TRUE,
            fc.shaderSignedZeroInfNanPreserveFloat64 == VK_TRUE, fc.shaderDenormPreserveFloat64 == VK_TRUE};
}

std::vector<std::uint32_t> with_float_controls(std::span<const std::uint32_t> spirv, const FloatControls& controls) {
    std::vector<std::uint32_t> in(spirv.begin(), spirv.end());
    if (!controls.any() || in.size() < kHeaderWords || in[0] != spv::MagicNumber) return in;
    const bool f64 = uses_float64(in);
    const Mode modes[] = {
        {controls.rounding_rte, spv::CapabilityRoundingModeRTE, spv::ExecutionModeRoundingModeRTE, kFloat32},
        {controls.signed_zero_inf_nan, spv::CapabilitySignedZeroInfNanPreserve, spv::ExecutionModeSignedZeroInfNanPreserve, kFloat32},
        {controls.denorm_preserve, spv::CapabilityDenormPreserve, spv::ExecutionModeDenormPreserve, kFloat32},
        {f64 && controls.rounding_rte64, spv::CapabilityRoundingModeRTE, spv::ExecutionModeRoundingModeRTE, kFloat64},
        {f64 && controls.signed_zero_inf_nan64, spv::CapabilitySignedZeroInfNanPreserve,
         spv::ExecutionModeSignedZeroInfNanPreserve, kFloat64},
        {f64 && controls.denorm_preserve64, spv::CapabilityDenormPreserve, spv::ExecutionModeDenormPreserve, kFloat64},
    };

    // One pass over the module's logical layout: capabilities, extensions,
    // imports, memory model, entry points, execution modes, the rest.
    std::vector<spv::Capability> capabilities;
    std::vector<std::pair<spv::ExecutionMode, std::uint32_t>> declared;  // with the mode's first operand
    bool has_extension = false;
    std::uint32_t entry = 0;
    std::size_t end_of_capabilities = 0, end_of_extensions = 0, end_of_entry_points = 0;
    for (std::size_t at = kHeaderWords; at < in.size();) {
        const std::uint32_t words = in[at] >> 16;
        const auto op = static_cast<spv::Op>(in[at] & 0xffffu);
        if (words == 0 || at + words > in.size()) return in;
        if (op == spv::OpCapability && words == 2) {
            capabilities.push_back(static_cast<spv::Capability>(in[at + 1]));
            end_of_capabilities = at + words;
        } else if (op == spv::OpExtension) {
            has_extension |= std::strncmp(reinterpret_cast<const char*>(&in[at + 1]), kExtension, (words - 1) * 4) == 0;
            end_of_extensions = at + words;
        } else if (op == spv::OpEntryPoint && words >= 3) {
            if (entry != 0) return in;  // one entry point per compute module
            entry = in[at + 2];
            end_of_entry_points = at + words;
        } else if (op == spv::OpExecutionMode && words >= 3) {
            declared.emplace_back(static_cast<spv::ExecutionMode>(in[at + 2]), words >= 4 ? in[at + 3] : 0u);
        } else if (op == spv::OpFunction) {
            break;  // past the declarations that matter here
        }
        at += words;
    }
    if (entry == 0 || end_of_capabilities == 0) return in;
    end_of_extensions = std::max(end_of_extensions, end_of_capabilities);

    std::vector<std::uint32_t> new_capabilities, new_modes;
    for (const Mode& m : modes) {
        if (!m.wanted || std::find(declared.begin(), declared.end(), std::pair{m.mode, m.width}) != declared.end()) continue;
        if (std::find(capabilities.begin(), capabilities.end(), m.capability) == capabilities.end()) {
            new_capabilities.insert(new_capabilities.end(), {instruction(spv::OpCapability, 2), static_cast<std::uint32_t>(m.capability)});
            capabilities.push_back(m.capability);  // once, for both widths
        }
        new_modes.insert(new_modes.end(), {instruction(spv::OpExecutionMode, 4), entry, static_cast<std::uint32_t>(m.mode), m.width});
    }
    if (new_modes.empty()) return in;
    std::vector<std::uint32_t> extension;
    if (!has_extension) {
        const std::size_t string_words = (sizeof kExtension + 3) / 4;  // with its terminating zero, padded
        extension.assign(1 + string_words, 0);
        extension[0] = instruction(spv::OpExtension, 1 + string_words);
        std::memcpy(&extension[1], kExtension, sizeof kExtension);
    }

    std::vector<std::uint32_t> out;
    out.reserve(in.size() + new_capabilities.size() + extension.size() + new_modes.size());
    out.insert(out.end(), in.begin(), in.begin() + end_of_capabilities);
    out.insert(out.end(), new_capabilities.begin(), new_capabilities.end());
    out.insert(out.end(), in.begin() + end_of_capabilities, in.begin() + end_of_extensions);
    out.insert(out.end(), extension.begin(), extension.end());
    out.insert(out.end(), in.begin() + end_of_extensions, in.begin() + end_of_entry_points);
    out.insert(out.end(), new_modes.begin(), new_modes.end());
    out.insert(out.end(), in.begin() + end_of_entry_points, in.end());
    return out;
}

bool uses_float64(std::span<const std::uint32_t> spirv) {
    for (std::size_t at = kHeaderWords; at < spirv.size();) {
        const std::uint32_t words = spirv[at] >> 16;
        const auto op = static_cast<spv::Op>(spirv[at] & 0xffffu);
        if (words == 0 || at + words > spirv.size()) return false;
        if (op == spv::OpCapability && words == 2 && spirv[at + 1] == spv::CapabilityFloat64) return true;
        if (op != spv::OpCapability && op != spv::OpNop) return false;  // capabilities come first
        at += words;
    }
    return false;
}

}  // namespace polymer::vk
