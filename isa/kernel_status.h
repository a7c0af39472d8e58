// The status buffer of the kernel ABI (docs/kernels.md, "When a kernel
// traps"): one small buffer per launch, bound after the parameters, through
// which generated GPU code reports the launch's fault and the host asks it
// to stop. Written by the GLSL lowering (assembler/kernel_glsl.cpp), read
// and written by the Vulkan backend (vm/vulkan/vulkan_backend.cpp).
//
//   word 0  first_lane  the lowest lane that has faulted; 0xFFFFFFFF: none
//   word 1  stop        the host sets it to 1 (Ctrl-C): lanes in a loop return
//   word 2  claimed     fault records claimed so far
//   word 3  (unused)
//   then kFaultRecords records of kFaultRecordWords words:
//           lane, kind (vm/kernel_fault.h: 1 bad index, 2 step budget, 4 device loop limit),
//           pc, param, index, length, -, -
//
// A lane that faults does atomicMin on first_lane; only a lane that lowered
// it claims a record (atomicAdd on claimed) and fills it, so no two lanes
// write one record, and the record of the lowest lane is there unless more
// than kFaultRecords lanes lowered first_lane one after another.
#pragma once

#include <cstdint>

namespace polymer {

inline constexpr std::uint32_t kStatusHeaderWords = 4;
inline constexpr std::uint32_t kFaultRecords = 64;
inline constexpr std::uint32_t kFaultRecordWords = 8;
inline constexpr std::uint32_t kStatusWords = kStatusHeaderWords + kFaultRecords * kFaultRecordWords;
// Lanes in a loop look at `stop` and `first_lane` once per this many iterations.
inline constexpr std::uint32_t kStopPollIterations = 1024;

}  // namespace polymer
