#include "src/tools/debugger/location.h"

#include <charconv>
#include <filesystem>

#include "vm/trap.h"

namespace polymer::repl {

std::string source_name(const Module& m, std::uint32_t file) {
    const std::string& path = source_file_of(m, SourceLoc{.file = file});
    return path.empty() ? std::string() : std::filesystem::path(path).filename().string();
}

std::string source_name(const Module& m) { return source_name(m, 0); }

std::uint32_t line_of(const Module& m, std::uint32_t pc) { return pc < m.lines.size() ? m.lines[pc].line : 0; }
std::uint32_t file_of(const Module& m, std::uint32_t pc) { return pc < m.lines.size() ? m.lines[pc].file : 0; }

std::string where(const Module& m, std::uint32_t pc) {
    std::string s = "pc " + std::to_string(pc);
    if (const Procedure* p = proc_containing(m, pc)) s += " in " + p->name;
    if (const std::uint32_t line = line_of(m, pc); line != 0)
        s += " (" + source_name(m, file_of(m, pc)) + ":" + std::to_string(line) + ")";
    return s;
}

namespace {

std::optional<std::uint32_t> number(std::string_view s) {
    std::uint32_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// The first word on `line` of `file`, or else on the nearest later line that has code.
Result<std::uint32_t> pc_of_line(const Module& m, std::uint32_t file, std::uint32_t line) {
    std::optional<std::uint32_t> best;
    for (std::uint32_t pc = 0; pc < m.lines.size(); ++pc) {
        const std::uint32_t l = m.lines[pc].line;
        if (l < line || l == 0 || m.lines[pc].file != file) continue;
        if (!best || l < m.lines[*best].line) best = pc;
    }
    if (!best) return Error{"no code at or after line " + std::to_string(line) + " of " + source_name(m, file)};
    return *best;
}

// The file named `name` (as written in the module, or without its directory).
std::optional<std::uint32_t> file_named(const Module& m, std::string_view name) {
    for (std::uint32_t f = 0; f <= m.include_files.size(); ++f)
        if (name == source_file_of(m, SourceLoc{.file = f}) || name == source_name(m, f)) return f;
    return std::nullopt;
}

}  // namespace

Result<std::uint32_t> parse_location(const Module& m, std::string_view text, std::uint32_t current_pc) {
    if (text.empty()) return Error{"a location is expected (a label, a procedure, a line or *pc)"};
    if (text[0] == '*') {
        auto pc = number(text.substr(1));
        if (!pc || *pc >= m.code.size())
            return Error{"bad pc '" + std::string(text.substr(1)) + "' (the code has words 0.." +
                         std::to_string(m.code.size() - 1) + ")"};
        return *pc;
    }
    if (auto line = number(text)) return pc_of_line(m, file_of(m, current_pc), *line);
    if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
        const std::string_view file = text.substr(0, colon);
        auto line = number(text.substr(colon + 1));
        if (!line) return Error{"bad line number in '" + std::string(text) + "'"};
        const std::optional<std::uint32_t> f = file_named(m, file);
        if (!f) {
            std::string files = source_name(m);
            for (std::uint32_t i = 1; i <= m.include_files.size(); ++i) files += ", " + source_name(m, i);
            return Error{"no source file named '" + std::string(file) + "' (this program is " + files + ")"};
        }
        return pc_of_line(m, *f, *line);
    }
    const Procedure* here = proc_containing(m, current_pc);
    std::optional<std::uint32_t> any;
    for (const Label& l : m.labels) {
        if (l.name != text) continue;
        if (here != nullptr && l.pc >= here->start && l.pc < here->start + here->length) return l.pc;
        if (!any) any = l.pc;
    }
    if (any) return *any;
    for (const Procedure& p : m.procs)
        if (p.name == text) return p.start;
    return Error{"unknown label or procedure '" + std::string(text) + "'"};
}

}  // namespace polymer::repl
