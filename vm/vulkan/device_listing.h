// The text of `polymer-run --list-devices`: one line per Vulkan device, or one
// line saying why there is none. Never fails.
#pragma once

#include <string>

namespace polymer {

// "0: llvmpipe (LLVM 15.0.6, 256 bits), cpu, 31.2 GiB, Vulkan 1.3.230, backend vulkan\n"
std::string describe_vulkan_devices();

}  // namespace polymer
