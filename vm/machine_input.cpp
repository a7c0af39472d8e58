// The input instructions' slow paths: program arguments and standard input
// (docs/language.md, "Arguments and input"). Each fills a Trap that says
// which argument or input line, what it holds and what was expected.
#include <cstring>

#include "isa/counted.h"
#include "vm/machine.h"

namespace polymer {

namespace {

// "an integer" / "a number", and the range a too large one is outside.
struct Wanted {
    const char* what;
    const char* range;
};
constexpr Wanted kInteger{"an integer", "the 64-bit integer range"};
constexpr Wanted kNumber{"a number", "the binary64 range"};

// What is wrong with `text` as a number, or "" when nothing is.
std::string number_problem(NumberText parsed, std::string_view text, const Wanted& want) {
    switch (parsed) {
    case NumberText::Ok: return {};
    case NumberText::NotANumber: return quote_input(text) + ", not " + want.what;
    case NumberText::OutOfRange: return quote_input(text) + ", outside " + want.range;
    }
    return {};
}

// The argument at `index`, or nullptr with *trap filled in.
const std::string* argument(const MachineOptions& o, std::int64_t index, std::uint32_t pc, Trap* trap) {
    if (index >= 0 && static_cast<std::uint64_t>(index) < o.args.size()) return &o.args[static_cast<std::size_t>(index)];
    *trap = Trap{TrapKind::BadArgument, pc,
                 "argument " + std::to_string(index) + " is missing: the program got " + counted(o.args.size(), "argument") +
                     " (polymer-run PROGRAM -- ARGS...; arguments count from 0)"};
    return nullptr;
}

template <class T>
bool argument_number(const MachineOptions& o, std::int64_t index, T& value, std::uint32_t pc, Trap* trap,
                     NumberText (*parse)(std::string_view, T&), const Wanted& want) {
    const std::string* text = argument(o, index, pc, trap);
    if (text == nullptr) return false;
    const std::string problem = number_problem(parse(*text, value), *text, want);
    if (problem.empty()) return true;
    *trap = Trap{TrapKind::BadArgument, pc, "argument " + std::to_string(index) + " is " + problem};
    return false;
}

}  // namespace

bool Machine::argument_int(std::int64_t index, std::int64_t& value, Trap* trap) const {
    return argument_number<std::int64_t>(options_, index, value, state_.pc, trap, parse_int, kInteger);
}

bool Machine::argument_float(std::int64_t index, double& value, Trap* trap) const {
    return argument_number<double>(options_, index, value, state_.pc, trap, parse_float, kNumber);
}

namespace {

// Gives u8 region `g` the bytes of `text` (the storage replaced, as alloc does).
bool fill_text(RegionStore& regions, Backend& backend, Region& g, std::string_view text, std::uint32_t pc,
               Trap* trap) {
    const std::string why = regions.allocate(g, static_cast<std::int64_t>(text.size()), &backend);
    if (!why.empty()) {
        *trap = Trap{TrapKind::BadAllocation, pc, "'" + std::string(g.name) + "': " + why};
        return false;
    }
    if (!text.empty()) std::memcpy(g.data, text.data(), text.size());
    return true;
}

}  // namespace

bool Machine::argument_text(Region& g, std::int64_t index, Trap* trap) {
    const std::string* text = argument(options_, index, state_.pc, trap);
    return text != nullptr && fill_text(regions_, *backend_, g, *text, state_.pc, trap);
}

bool Machine::read_line(Region& g, std::int64_t& length, Trap* trap) {
    const std::optional<std::string> line = options_.input ? options_.input->read_line() : std::nullopt;
    length = line ? static_cast<std::int64_t>(line->size()) : -1;
    return fill_text(regions_, *backend_, g, line ? *line : std::string_view(), state_.pc, trap);
}

namespace {

template <class T>
bool read_number(InputStream* input, T& value, bool& got, std::uint32_t pc, Trap* trap,
                 NumberText (*parse)(std::string_view, T&), const Wanted& want) {
    value = 0;
    const std::optional<std::string> word = input ? input->read_word() : std::nullopt;
    got = word.has_value();
    if (!got) return true;
    const std::string problem = number_problem(parse(*word, value), *word, want);
    if (problem.empty()) return true;
    *trap = Trap{TrapKind::BadInput, pc, "stdin line " + std::to_string(input->line()) + ": the word is " + problem};
    return false;
}

}  // namespace

bool Machine::read_int(std::int64_t& value, bool& got, Trap* trap) {
    return read_number<std::int64_t>(options_.input, value, got, state_.pc, trap, parse_int, kInteger);
}

bool Machine::read_float(double& value, bool& got, Trap* trap) {
    return read_number<double>(options_.input, value, got, state_.pc, trap, parse_float, kNumber);
}

}  // namespace polymer
