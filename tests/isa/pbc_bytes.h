// Helpers for tests that edit .pbc bytes in place (layout: docs/module-format.md).
#pragma once

#include <cstdint>
#include <vector>

#include "isa/module_io.h"

namespace polymer::testing {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::size_t kHeaderBytes = 16;
inline constexpr std::size_t kEntryBytes = 24;
inline constexpr std::size_t kChecksumAt = 12;

inline std::uint64_t get_le(const Bytes& b, std::size_t at, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= std::uint64_t{b.at(at + i)} << (8 * i);
    return v;
}

inline void put_le(Bytes& b, std::size_t at, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b.at(at + i) = static_cast<std::uint8_t>(v >> (8 * i));
}

// The bytes with their header checksum made right again: a test that edits a
// file to reach one of the reader's later checks seals it after the edit.
inline Bytes sealed(Bytes b) {
    if (b.size() >= kHeaderBytes) put_le(b, kChecksumAt, module_checksum(b), 4);
    return b;
}

// The section-table entry of the section with this id (write_module writes
// every section, in id order, so entry i holds id i + 1).
inline std::size_t entry_at(const Bytes& b, std::uint16_t id) {
    std::size_t count = get_le(b, 8, 4);
    for (std::size_t i = 0; i < count; ++i) {
        std::size_t at = kHeaderBytes + i * kEntryBytes;
        if (get_le(b, at, 2) == id) return at;
    }
    return 0;
}
inline std::uint64_t section_offset(const Bytes& b, std::uint16_t id) { return get_le(b, entry_at(b, id) + 8, 8); }
inline std::uint64_t section_size(const Bytes& b, std::uint16_t id) { return get_le(b, entry_at(b, id) + 16, 8); }

// Section ids, as in isa/module_io.cpp.
enum SectionId : std::uint16_t {
    kModuleSection = 1, kCodeSection, kLinesSection, kProcsSection, kIntConstsSection, kFloatConstsSection,
    kStringsSection, kRegionsSection, kKernelsSection, kLaunchesSection, kLabelsSection, kFramesSection,
    kSourceFilesSection, kLoopKernelsSection, kChannelsSection, kBarriersSection, kProcRequirementsSection,
};

}  // namespace polymer::testing
