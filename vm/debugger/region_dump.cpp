#include "vm/debugger/region_dump.h"

#include "assembler/disassembler.h"

namespace polymer::debugger {

std::string element_text(const Region& g, std::uint64_t i) {
    switch (g.type) {
    case ElemType::U8: return std::to_string(g.as<std::uint8_t>()[i]);
    case ElemType::I32: return std::to_string(g.as<std::int32_t>()[i]);
    case ElemType::U32: return std::to_string(g.as<std::uint32_t>()[i]);
    case ElemType::I64: return std::to_string(g.as<std::int64_t>()[i]);
    case ElemType::F32: return float_text(g.as<float>()[i]);
    case ElemType::F64: return double_text(g.as<double>()[i]);
    }
    return "?";
}

std::string dump_region(const Region& g, std::uint64_t start, std::uint64_t count) {
    std::string out = std::string(g.name) + ": " + std::string(elem_type_name(g.type)) + "[" +
                      std::to_string(g.length) + "]";
    if (start >= g.length || count == 0) return out + ", no elements from index " + std::to_string(start) + "\n";
    const std::uint64_t end = count > g.length - start ? g.length : start + count;
    out += ", elements " + std::to_string(start) + ".." + std::to_string(end - 1) + "\n";
    constexpr std::uint64_t kPerRow = 8;
    for (std::uint64_t row = start; row < end; row += kPerRow) {
        out += "  [" + std::to_string(row) + "]";
        for (std::uint64_t i = row; i < end && i < row + kPerRow; ++i) out += " " + element_text(g, i);
        out += "\n";
    }
    return out;
}

std::string dump_region(const Machine& m, const Region& g, std::uint64_t start, std::uint64_t count) {
    if (start < g.length) m.bring_home(g, start, count > g.length - start ? g.length : start + count, HomeAccess::Read);
    return dump_region(g, start, count);
}

}  // namespace polymer::debugger
