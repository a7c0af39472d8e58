#include "isa/requirements_text.h"

#include <utility>

namespace polymer {

std::string size_literal(std::uint64_t bytes) {
    static constexpr std::pair<char, int> kSuffixes[] = {{'T', 40}, {'G', 30}, {'M', 20}, {'K', 10}};
    for (auto [suffix, shift] : kSuffixes) {
        const std::uint64_t unit = std::uint64_t{1} << shift;
        if (bytes != 0 && bytes % unit == 0) return std::to_string(bytes / unit) + suffix;
    }
    return std::to_string(bytes);
}

std::string requirements_text(const ProcRequirements& r) {
    std::string s;
    auto add = [&s](const std::string& part) { s += (s.empty() ? ".requires " : ", ") + part; };
    if (r.gpu) add("gpu");
    if (r.min_memory != 0) add("mem >= " + size_literal(r.min_memory));
    if (!r.node.empty()) add("node '" + r.node + "'");
    return s;
}

std::string unmet_requirements(const ProcRequirements& r, bool gpu, std::uint64_t max_memory, const std::string& name) {
    std::string why;
    auto add = [&why](const std::string& reason) { why += (why.empty() ? "" : ", ") + reason; };
    if (r.gpu && !gpu) add("it has no GPU");
    if (r.min_memory > max_memory) add("it offers " + std::to_string(max_memory >> 20) + " MiB (--max-memory)");
    if (!r.node.empty() && r.node != name) add("it is named '" + name + "'");
    return why;
}

}  // namespace polymer
