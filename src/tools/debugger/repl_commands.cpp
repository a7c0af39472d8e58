// The REPL's command handlers (the table is in repl.cpp).
#include <algorithm>
#include <charconv>
#include <numeric>

#include "assembler/disassembler.h"
#include "src/tools/debugger/location.h"
#include "src/tools/debugger/repl.h"

#include "isa/loop_trip.h"
#include "vm/debugger/region_dump.h"
#include "vm/trap.h"

namespace polymer::repl {

using debugger::Expression;
using debugger::Value;

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    for (;;) {
        s = trim(s);
        if (s.empty()) return out;
        const std::size_t end = std::min(s.find_first_of(" \t"), s.size());
        out.push_back(s.substr(0, end));
        s.remove_prefix(end);
    }
}

std::optional<int> id_of(std::string_view w) {
    int v = 0;
    auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
    if (ec != std::errc() || end != w.data() + w.size()) return std::nullopt;
    return v;
}

// At least one space after `s`, so columns never run together.
std::string pad(std::string s, std::size_t width) {
    s.append(s.size() < width ? width - s.size() : 1, ' ');
    return s;
}

}  // namespace

void Repl::cmd_break(std::string_view args) {
    const Module& m = session_.module();
    const std::uint32_t here = viewed_pc();
    std::string_view text = trim(args);
    Result<std::uint32_t> pc = text.empty() ? Result<std::uint32_t>(here) : parse_location(m, text, here);
    if (!pc) return error(pc.error());
    const int id = session_.add_breakpoint(pc.value(), text.empty() ? "*" + std::to_string(here) : std::string(text));
    say("Breakpoint " + std::to_string(id) + " at " + where(m, pc.value()) + ": " + disassemble_word(m, pc.value()) + "\n");
}

void Repl::cmd_delete(std::string_view args) {
    const std::vector<std::string_view> ids = words(args);
    if (ids.empty()) {
        session_.remove_all();
        return say("Deleted all breakpoints and watchpoints.\n");
    }
    for (std::string_view w : ids) {
        std::optional<int> id = id_of(w);
        if (!id || !session_.remove(*id)) return error("no breakpoint or watchpoint number '" + std::string(w) + "'");
        say("Deleted " + std::to_string(*id) + ".\n");
    }
}

void Repl::enable_or_disable(std::string_view args, bool enable) {
    const std::vector<std::string_view> ids = words(args);
    if (ids.empty()) return error(std::string(enable ? "enable" : "disable") + " needs breakpoint numbers");
    for (std::string_view w : ids) {
        std::optional<int> id = id_of(w);
        if (!id || !session_.set_enabled(*id, enable))
            return error("no breakpoint or watchpoint number '" + std::string(w) + "'");
        say(std::string(enable ? "Enabled " : "Disabled ") + std::to_string(*id) + ".\n");
    }
}

void Repl::cmd_disable(std::string_view args) { enable_or_disable(args, false); }
void Repl::cmd_enable(std::string_view args) { enable_or_disable(args, true); }

void Repl::cmd_watch(std::string_view args) {
    Result<Expression> e = Expression::parse(args, session_.module(), viewed_pc());
    if (!e) return error(e.error());
    Result<int> id = session_.add_watch(std::move(e).value());
    if (!id) return error(id.error());
    const debugger::Breakpoint& b = session_.breakpoints().back();
    say("Watchpoint " + std::to_string(id.value()) + ": " + b.where + " (now " + debugger::value_text(*b.last) + ")\n");
}

void Repl::cmd_step(std::string_view args) {
    std::optional<std::uint64_t> n = count_arg(trim(args));
    if (!n || !require_running()) return;
    remember_registers();
    show_events_ = session_.out_of_order();
    const debugger::Stop stop = session_.step(*n);
    report(stop);
    show_events_ = false;
}

void Repl::cmd_next(std::string_view args) {
    std::optional<std::uint64_t> n = count_arg(trim(args));
    if (!n || !require_running()) return;
    remember_registers();
    report(session_.next(*n));
}

void Repl::cmd_finish(std::string_view args) {
    if (!trim(args).empty()) return error("finish takes no arguments");
    if (!require_running()) return;
    if (session_.machine().call_depth() == 0)
        return error("finish: the entry procedure has no caller (continue runs to the end)");
    remember_registers();
    report(session_.finish());
}

void Repl::cmd_continue(std::string_view args) {
    if (!trim(args).empty()) return error("continue takes no arguments");
    if (!require_running()) return;
    remember_registers();
    report(session_.resume());
}

void Repl::restart(std::string_view args, bool and_continue) {
    if (!trim(args).empty()) return error("run takes no arguments (the program has none)");
    Result<bool> ok = session_.restart();
    if (!ok) return error(ok.error());
    remember_registers();
    say("Starting again from the beginning (output already printed stays printed).\n");
    if (and_continue) return cmd_continue("");
    say(current_line());
}

void Repl::cmd_run(std::string_view args) { restart(args, true); }
void Repl::cmd_restart(std::string_view args) { restart(args, false); }

void Repl::cmd_until(std::string_view args) {
    if (trim(args).empty()) return error("until needs a condition, e.g. until r1 == 10 or until pc == done");
    Result<Expression> e = Expression::parse(args, session_.module(), viewed_pc());
    if (!e) return error(e.error());
    if (Result<Value> v = e.value().evaluate(session_.machine()); !v) return error(v.error());
    if (!require_running()) return;
    remember_registers();
    report(session_.until(e.value()));
}

void Repl::cmd_print(std::string_view args) {
    committed_note();
    bool hex = false;
    if (args.starts_with("/x")) {
        hex = true;
        args.remove_prefix(2);
    } else if (args.starts_with("/d")) {
        args.remove_prefix(2);
    } else if (args.starts_with("/")) {
        return error("unknown print format '" + std::string(args.substr(0, 2)) + "' (/x hex, /d decimal)");
    }
    Result<Expression> e = Expression::parse(args, session_.module(), viewed_pc());
    if (!e) return error(e.error());
    Result<Value> v = session_.evaluate(e.value());
    if (!v) return error(v.error());
    say(e.value().text() + " = " + debugger::value_text(v.value(), hex) + "\n");
}

void Repl::cmd_x(std::string_view args) {
    committed_note();
    const Module& m = session_.module();
    std::optional<std::uint64_t> count;
    if (args.starts_with("/")) {
        const std::size_t end = std::min(args.find_first_of(" \t"), args.size());
        std::uint64_t n = 0;
        auto [p, ec] = std::from_chars(args.data() + 1, args.data() + end, n);
        if (ec != std::errc() || p != args.data() + end) return error("bad count '" + std::string(args.substr(1, end - 1)) + "' after x/");
        count = n;
        args.remove_prefix(end);
    }
    args = trim(args);
    const std::size_t name_end = std::min(args.find_first_of(" \t["), args.size());
    const std::string name(args.substr(0, name_end));
    if (name.empty()) return error("x needs a region name, e.g. x xs or x xs 8 4");
    std::optional<std::uint32_t> region;
    for (std::size_t i = 0; i < m.regions.size(); ++i)
        if (m.regions[i].name == name) region = static_cast<std::uint32_t>(i);
    if (!region) return error("no region named '" + name + "'");
    args.remove_prefix(name_end);
    std::vector<std::string> operands;
    if (args.starts_with("[")) {
        const std::size_t close = args.find(']');
        if (close == std::string_view::npos) return error("']' expected after the index in 'x " + name + "['");
        operands.emplace_back(args.substr(1, close - 1));
        args.remove_prefix(close + 1);
    }
    for (std::string_view w : words(args)) operands.emplace_back(w);
    if (operands.size() > 2 || (count && operands.size() > 1)) return error("x takes a region, a start and a count");
    std::uint64_t values[2] = {0, 0};
    for (std::size_t k = 0; k < operands.size(); ++k) {
        Result<Expression> e = Expression::parse(operands[k], m, viewed_pc());
        if (!e) return error(e.error());
        Result<Value> v = session_.evaluate(e.value());
        if (!v) return error(v.error());
        if (v.value().is_float || v.value().i < 0)
            return error("'" + operands[k] + "' is not an element index or count (a whole number >= 0)");
        values[k] = static_cast<std::uint64_t>(v.value().i);
    }
    const Region& g = session_.machine().regions()[*region];
    const std::uint64_t start = values[0];
    constexpr std::uint64_t kDefaultCount = 64;
    const bool count_given = count.has_value() || operands.size() == 2;
    const std::uint64_t n = count ? *count : operands.size() == 2 ? values[1] : kDefaultCount;
    if (start > g.length) return error("start " + std::to_string(start) + " is past the end of '" + name + "' (length " + std::to_string(g.length) + ")");
    std::string text = debugger::dump_region(session_.machine(), g, start, n);
    if (!count_given && g.length - start > n)
        text += "  ... " + std::to_string(g.length - start - n) + " more (x " + name + " " + std::to_string(start + n) +
                " shows the next)\n";
    say(text);
}

const std::vector<std::string>& Repl::source_lines(std::uint32_t file) const {
    static const std::vector<std::string> kNone;
    return file < options_.source_files.size() ? options_.source_files[file] : kNone;
}

void Repl::cmd_list(std::string_view args) {
    committed_note();
    const Module& m = session_.module();
    std::uint32_t first = 0;
    args = trim(args);
    if (args.empty() && list_next_line_ != 0) {
        first = list_next_line_;
    } else {
        std::uint32_t pc = viewed_pc();
        if (!args.empty()) {
            Result<std::uint32_t> at = parse_location(m, args, pc);
            if (!at) return error(at.error());
            pc = at.value();
        }
        const std::uint32_t center = line_of(m, pc);
        if (center == 0) return error("the line table does not say which line pc " + std::to_string(pc) + " is on");
        first = center > 5 ? center - 5 : 1;
        list_file_ = file_of(m, pc);
    }
    const std::vector<std::string>& lines = source_lines(list_file_);
    if (lines.empty())
        return error("no source text for " + (source_name(m, list_file_).empty() ? std::string("this program")
                                                                                  : source_name(m, list_file_)) +
                     " (a .pbc whose source file cannot be read); disas shows the code");
    const auto total = static_cast<std::uint32_t>(lines.size());
    if (first > total) return error("line " + std::to_string(first) + " is past the end of " + source_name(m, list_file_) + " (" + std::to_string(total) + " lines)");
    const std::uint32_t last = std::min(first + 9, total);
    const std::uint32_t pc = viewed_pc();
    const std::uint32_t current = file_of(m, pc) == list_file_ ? line_of(m, pc) : 0;
    std::string text;
    for (std::uint32_t line = first; line <= last; ++line) {
        std::string number = std::to_string(line);
        text += (line == current ? "=> " : "   ") + std::string(number.size() < 4 ? 4 - number.size() : 0, ' ') +
                number + "  " + lines[line - 1] + "\n";
    }
    list_next_line_ = last + 1;
    last_was_list_ = true;
    say(text);
}

void Repl::cmd_disas(std::string_view args) {
    committed_note();
    const Module& m = session_.module();
    const std::uint32_t here = viewed_pc();
    std::uint32_t center = here;
    if (!trim(args).empty()) {
        Result<std::uint32_t> at = parse_location(m, trim(args), here);
        if (!at) return error(at.error());
        center = at.value();
    }
    const Procedure* p = proc_containing(m, center);
    if (p == nullptr) return error("pc " + std::to_string(center) + " is in no procedure");
    std::uint32_t first = p->start, last = p->start + p->length - 1;
    constexpr std::uint32_t kWindow = 8;
    if (p->length > 2 * kWindow + 1) {
        first = std::max(p->start, center > kWindow ? center - kWindow : 0);
        last = std::min(last, center + kWindow);
    }
    std::string text = "proc " + p->name + ", words " + std::to_string(p->start) + ".." +
                       std::to_string(p->start + p->length - 1) + ":\n";
    for (std::uint32_t pc = first; pc <= last; ++pc) {
        for (const Label& l : m.labels)
            if (l.pc == pc) text += "         " + l.name + ":\n";
        std::string number = std::to_string(pc);
        text += (pc == here ? "=> " : "   ") + std::string(number.size() < 4 ? 4 - number.size() : 0, ' ') + number +
                "    " + disassemble_word(m, pc) + "\n";
    }
    say(text);
}

void Repl::cmd_backtrace(std::string_view) {
    committed_note();
    const Module& m = session_.module();
    std::string text = "#0  " + where(m, viewed_pc()) + "\n";
    int frame = 1;
    const std::vector<std::uint32_t> returns = session_.call_stack();
    for (std::size_t k = returns.size(); k-- > 0;)
        text += "#" + std::to_string(frame++) + "  " + where(m, returns[k] - 1) + "\n";
    // A spawned procedure's stack starts at its entry: say where it came from.
    if (const Procedures* procs = session_.procedures(); procs != nullptr && session_.selected() != 0) {
        const LiveProcedure& p = procs->all()[session_.selected()];
        text += "(procedure " + procedure_name(p.id) + " was spawned by " + procedure_name(p.parent) + " at " +
                where(m, p.spawn_pc) + ")\n";
    }
    say(text);
}

void Repl::cmd_set(std::string_view args) {
    args = trim(args);
    if (args.starts_with("var ")) args = trim(args.substr(4));
    if (args.starts_with("loop-kernels")) {
        const std::vector<std::string_view> w = words(args);
        if (w.size() != 2 || (w[1] != "on" && w[1] != "off"))
            return error("set loop-kernels needs on or off, e.g. set loop-kernels off");
        session_.set_loop_kernels(w[1] == "on");
        return say(w[1] == "on" ? "kloop runs a loop the assembler turned into a kernel as one step.\n"
                                : "kloop does nothing: loops the assembler turned into kernels are stepped as written.\n");
    }
    if (args.starts_with("history")) {
        const std::vector<std::string_view> w = words(args);
        std::uint64_t n = 0;
        if (w.size() != 2 || std::from_chars(w[1].data(), w[1].data() + w[1].size(), n).ptr != w[1].data() + w[1].size())
            return error("set history needs a number of steps, e.g. set history 5000");
        session_.history().set_max_steps(static_cast<std::size_t>(n));
        return say("backstep can now undo up to " + std::to_string(n) + " steps.\n");
    }
    // The first '=' that is not part of ==, <=, >= or !=.
    std::size_t eq = std::string_view::npos;
    for (std::size_t k = 0; k < args.size(); ++k) {
        if (args[k] != '=') continue;
        const bool before = k > 0 && std::string_view("=<>!").find(args[k - 1]) != std::string_view::npos;
        const bool after = k + 1 < args.size() && args[k + 1] == '=';
        if (after) { ++k; continue; }
        if (!before) { eq = k; break; }
    }
    if (eq == std::string_view::npos) return error("set needs PLACE = VALUE, e.g. set r1 = 5 or set xs[2] = 1.5");
    const Module& m = session_.module();
    Result<Expression> place = Expression::parse(args.substr(0, eq), m, viewed_pc());
    if (!place) return error(place.error());
    if (place.value().place() == Expression::Place::None)
        return error("cannot assign to '" + place.value().text() + "' (set takes a register or a region element)");
    Result<Expression> value = Expression::parse(args.substr(eq + 1), m, viewed_pc());
    if (!value) return error(value.error());
    Result<Value> v = session_.evaluate(value.value());
    if (!v) return error(v.error());
    Result<bool> ok = session_.assign(place.value(), v.value());
    if (!ok) return error(ok.error());
    Result<Value> now = place.value().evaluate(session_.machine());
    say(place.value().text() + " = " + debugger::value_text(now.value()) + "\n");
}

void Repl::cmd_backstep(std::string_view args) {
    std::optional<std::uint64_t> n = count_arg(trim(args));
    if (!n) return;
    const debugger::UndoLog& h = session_.history();
    remember_registers();
    const debugger::BackstepReport rep = session_.backstep(*n);
    if (rep.undone == 0) {
        return error(h.truncated() ? "no more history: backstep keeps the last " + std::to_string(h.max_steps()) +
                                         " steps (set history N keeps more)"
                     : history_start_text().empty() ? std::string("no more history: this is the start of the program")
                                                    : "no more history: it starts " + history_start_text());
    }
    std::string text = "Undid " + std::to_string(rep.undone) + (rep.undone == 1 ? " step" : " steps");
    if (rep.sets_undone > 0) text += " (" + std::to_string(rep.sets_undone) + " of them set commands)";
    text += ".\n";
    if (rep.printed) text += "Note: the output those instructions printed stays printed.\n";
    if (rep.read_input) text += "Note: the input those instructions read stays read (the next read goes on from there).\n";
    if (rep.history_ran_out)
        text += h.truncated() ? "Note: the history ends here (it keeps the last " + std::to_string(h.max_steps()) + " steps).\n"
                : history_start_text().empty() ? "Note: this is the start of the program.\n"
                                               : "Note: the history starts here, " + history_start_text() + ".\n";
    say(text + current_line());
}

void Repl::cmd_registers(std::string_view args) {
    committed_note();
    const std::vector<std::string_view> names = words(args);
    if (names.empty()) return say(register_cells(false));
    std::string text;
    for (std::string_view n : names) {
        Result<Expression> e = Expression::parse(n, session_.module(), viewed_pc());
        if (!e || (e.value().place() != Expression::Place::IntReg && e.value().place() != Expression::Place::FloatReg))
            return error("'" + std::string(n) + "' is not a register (r0..r31, f0..f31)");
        const debugger::Value v = session_.evaluate(e.value()).value();
        text += std::string(n) + " = " + debugger::value_text(v);
        if (const Region* g = v.is_float ? nullptr : session_.machine().regions().by_handle(v.i))
            text += " (the handle of '" + std::string(g->name) + "', " + std::string(elem_type_name(g->type)) + ")";
        text += "\n";
    }
    say(text);
}

void Repl::cmd_info(std::string_view args) {
    const std::vector<std::string_view> w = words(args);
    const std::string_view what = w.empty() ? std::string_view() : w[0];
    const std::size_t rest_at = w.empty() ? args.size() : static_cast<std::size_t>(w[0].data() + w[0].size() - args.data());
    if (what == "breakpoints" || what == "b" || what == "break" || what == "watchpoints") return info_breakpoints();
    if (what == "registers" || what == "r" || what == "reg") return cmd_registers(args.substr(rest_at));
    if (what == "frames") return info_frames();
    if (what == "history") return info_history();
    if (what == "procs" || what == "procedures") return info_procs();
    if (what == "rob") return info_rob();
    if (what == "nodes") return info_nodes();
    if (what == "loops") return info_loops();
    if (what == "regions") return info_regions();
    error(what.empty() ? std::string("info what? (breakpoints, registers, frames, history, procs, rob, nodes, loops, regions)")
                       : "unknown info command '" + std::string(what) +
                             "' (breakpoints, registers, frames, history, procs, rob, nodes, loops, regions)");
}

// Each region's type and length; and where its elements are when the
// backend keeps some of them elsewhere (a cluster's nodes, Backend::residency).
void Repl::info_regions() {
    const Machine& mc = session_.machine();
    if (mc.regions().size() == 0) return say("The module has no regions.\n");
    std::string text;
    for (std::size_t i = 0; i < mc.regions().size(); ++i) {
        const Region& g = mc.regions()[i];
        text += std::string(g.name) + ": " + std::string(elem_type_name(g.type)) + "[" + std::to_string(g.length) + "]\n";
        for (const ResidentSlice& s : mc.backend().residency(g))
            text += "  elements " + std::to_string(s.begin) + ".." + std::to_string(s.end - 1) + ": " + s.holders + "\n";
    }
    say(text);
}

// The loops the assembler turned into kernels: where each kloop is, what it
// runs, and what it did so far.
void Repl::info_loops() {
    const Module& m = session_.module();
    if (m.loop_kernels.empty()) return say("No loops were turned into kernels (polymer-as --report-loops says why).\n");
    std::string text;
    for (std::uint32_t pc = 0; pc < m.code.size(); ++pc)
        if (is_loop_word(m.code[pc]))
            text += "kloop " + std::to_string(word_field(m.code[pc], Field::Imm)) + " at " + where(m, pc) + ": " +
                    describe_loop(m, m.loop_kernels[word_field(m.code[pc], Field::Imm)]) + "\n";
    text += "Loop kernels are " + std::string(session_.loop_kernels() ? "on" : "off (set loop-kernels on)") + "; so far " +
            loop_kernel_stats_text(session_.machine().loop_kernel_stats()) + ".\n";
    say(text);
}

void Repl::info_nodes() {
    if (!options_.nodes_view) return error("no cluster nodes (start with --nodes or --local-nodes)");
    say(options_.nodes_view());
}

void Repl::info_breakpoints() {
    const Module& m = session_.module();
    if (session_.breakpoints().empty()) return say("No breakpoints or watchpoints.\n");
    std::string text = "Num  Type        Enb  What\n";
    for (const debugger::Breakpoint& b : session_.breakpoints()) {
        std::string what = b.is_watch ? b.where + " (now " + (b.last ? debugger::value_text(*b.last) : "unavailable") + ")"
                                      : b.where + " at " + where(m, b.pc);
        if (b.hits > 0) what += ", hit " + std::to_string(b.hits) + (b.hits == 1 ? " time" : " times");
        text += pad(std::to_string(b.id), 5) + pad(b.is_watch ? "watchpoint" : "breakpoint", 12) +
                pad(b.enabled ? "y" : "n", 5) + what + "\n";
    }
    say(text);
}

void Repl::info_frames() {
    const Module& m = session_.module();
    const std::uint32_t pc = viewed_pc();
    if (blocks_.empty()) blocks_ = analyze_frames(m);
    for (const BlockAnalysis& b : blocks_) {
        if (pc < b.start || pc >= b.start + b.length) continue;
        // The frame numbers the module stores (the verifier checked them against this analysis).
        std::vector<std::uint16_t> frame = b.frame;
        for (const BlockFrames& stored : m.frames)
            if (stored.start == b.start && stored.frame.size() == b.length) frame = stored.frame;
        const int frames = frame.empty() ? 0 : *std::max_element(frame.begin(), frame.end()) + 1;
        std::string text = "Block at words " + std::to_string(b.start) + ".." + std::to_string(b.start + b.length - 1) +
                           " in " + m.procs[b.proc].name + ": " + std::to_string(b.length) +
                           (b.length == 1 ? " instruction" : " instructions") + " in " + std::to_string(frames) +
                           (frames == 1 ? " frame" : " frames") + (m.frames.empty() ? " (computed: the module stores none)" : "") + "\n";
        std::vector<std::uint32_t> order(b.length);
        std::iota(order.begin(), order.end(), 0u);
        std::stable_sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) { return frame[x] < frame[y]; });
        for (std::uint32_t k : order) {
            const std::uint32_t word = b.start + k;
            std::string line = (word == pc ? "=> " : "   ") + pad("frame " + std::to_string(frame[k]), 9) +
                               pad("#" + std::to_string(word), 6) + disassemble_word(m, word);
            std::vector<Dependency> deps = b.deps[k];
            std::stable_sort(deps.begin(), deps.end(), [](const Dependency& x, const Dependency& y) { return x.on < y.on; });
            if (!deps.empty()) {
                line = pad(line, 44) + "  ; waits for ";
                for (std::size_t d = 0; d < deps.size(); ++d)
                    line += (d == 0 ? "" : d + 1 == deps.size() ? " and " : ", ") + ("#" + std::to_string(deps[d].on)) +
                            " (" + dependency_reason(m, deps[d]) + ")";
            }
            text += line + "\n";
        }
        return say(text);
    }
    error("pc " + std::to_string(pc) + " is in no basic block (past the end of the code)");
}

void Repl::info_history() {
    const debugger::UndoLog& h = session_.history();
    say("backstep can undo " + std::to_string(h.size()) + (h.size() == 1 ? " step" : " steps") + " (keeps up to " +
        std::to_string(h.max_steps()) + " steps and " + std::to_string(h.max_snapshot_bytes()) +
        " bytes of region snapshots; " + std::to_string(h.snapshot_bytes()) + " bytes in use)" +
        (h.truncated()                    ? "; older steps were dropped"
         : !history_start_text().empty() ? "; it starts " + history_start_text()
                                         : "") +
        ".\n");
}

void Repl::cmd_help(std::string_view args) {
    args = trim(args);
    if (!args.empty()) {
        for (const Command& c : commands())
            if (std::find(c.names.begin(), c.names.end(), args) != c.names.end()) {
                std::string names;
                for (std::size_t k = 1; k < c.names.size(); ++k) names += (k == 1 ? " (also " : ", ") + std::string(c.names[k]);
                if (!names.empty()) names += ")";
                return say(std::string(c.usage) + names + "\n  " + std::string(c.help) + "\n");
            }
        return error("no command named '" + std::string(args) + "'");
    }
    std::string text = "Commands (Enter repeats the last step, next, continue, backstep, list, x, ...):\n";
    for (const Command& c : commands()) {
        std::string shorts;
        for (std::size_t k = 1; k < c.names.size(); ++k) shorts += (k == 1 ? "" : ", ") + std::string(c.names[k]);
        text += "  " + pad(std::string(c.usage), 34) + (shorts.empty() ? "" : "[" + shorts + "] ") + std::string(c.help) + "\n";
    }
    text += "Expressions: r0..r31, f0..f31, pc, steps, depth, xs[i], len(xs), labels, numbers, + - * / % << >> & | ^ == != < <= > >= && || ! ~\n";
    say(text);
}

void Repl::cmd_quit(std::string_view) { quit_ = true; }

}  // namespace polymer::repl
