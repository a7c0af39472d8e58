// Module -> assembly text. Operands are printed by format (isa/formats.def);
// the output re-assembles to the same module, constants, line table included.
#include "assembler/disassembler.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <span>
#include <algorithm>
#include <cstdint>
#include <vector>
#include <string>

#include "isa/loop_trip.h"
#include "isa/opcodes.h"
#include "isa/requirements_text.h"

namespace polymer {

namespace {

constexpr std::string_view kIndent = "        ";

// std::to_chars shortest form, made to read as a float literal: "-0" would
// read back as the integer 0, and "1e+20" has a sign the lexer need not take.
std::string shortest_text(const char* begin, const char* end) {
    std::string s(begin, end);
    if (s.find_first_of(".en") == std::string::npos) s += ".0";
    if (auto plus = s.find("e+"); plus != std::string::npos) s.erase(plus + 1, 1);
    return s;
}

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

// "add" + operands, the mnemonic padded so operands line up.
std::string instruction_text(std::string_view mnemonic, const std::string& operands) {
    if (operands.empty()) return std::string(mnemonic);
    return pad(std::string(mnemonic), 7) + " " + operands;
}

std::string bad(std::string_view what, std::uint32_t index) {
    return "<bad " + std::string(what) + " " + std::to_string(index) + ">";
}

// The labels by pc, built once per module printed, so printing a word looks
// its label up instead of scanning every label (a module with 1M labels took
// polymer-dis over 300 s that way).
class LabelIndex {
public:
    explicit LabelIndex(const Module& m) : m_(m) {
        by_pc_.reserve(m.labels.size());
        for (std::size_t i = 0; i < m.labels.size(); ++i) by_pc_.push_back({m.labels[i].pc, i});
        // Stable: a pc's labels stay in declaration order, the first is its name.
        std::stable_sort(by_pc_.begin(), by_pc_.end(), [](const Entry& a, const Entry& b) { return a.pc < b.pc; });
    }
    struct Entry {
        std::uint32_t pc;
        std::size_t label;  // index into Module::labels
    };
    // The labels at `pc`, in declaration order.
    std::span<const Entry> at(std::uint32_t pc) const { return in(pc, pc); }
    // The labels with lo <= pc <= hi, by pc.
    std::span<const Entry> in(std::uint64_t lo, std::uint64_t hi) const {
        auto first = std::lower_bound(by_pc_.begin(), by_pc_.end(), lo, [](const Entry& e, std::uint64_t v) { return e.pc < v; });
        auto last = std::upper_bound(first, by_pc_.end(), hi, [](std::uint64_t v, const Entry& e) { return v < e.pc; });
        return {first, last};
    }
    std::string name(std::uint32_t pc) const {
        auto here = at(pc);
        return here.empty() ? "L" + std::to_string(pc) : m_.labels[here.front().label].name;
    }

private:
    const Module& m_;
    std::vector<Entry> by_pc_;
};

// Prints the operands of one word. `kernel` is set for kernel words: then a
// Param/PMem field names a parameter of that kernel.
class OperandPrinter {
public:
    OperandPrinter(const Module& m, const Kernel* kernel, const LabelIndex* labels) : m_(m), kernel_(kernel), labels_(labels) {}

    std::string operands(Word w, Format format) const {
        const FormatInfo& f = format_info(format);
        std::string out;
        for (std::size_t i = 0; i < f.count; ++i) {
            if (i) out += ", ";
            out += operand(w, f.operands[i]);
        }
        return out;
    }

private:
    std::string operand(Word w, const OperandSpec& o) const {
        std::uint32_t v = word_field(w, o.field);
        switch (o.kind) {
        case OperandKind::IntReg: return "r" + std::to_string(v);
        case OperandKind::FloatReg: return "f" + std::to_string(v);
        case OperandKind::Imm:
        case OperandKind::Digits: return std::to_string(static_cast<std::int32_t>(v));
        case OperandKind::IntConst:
            return v < m_.int_consts.size() ? std::to_string(m_.int_consts[v]) : bad("constant", v);
        case OperandKind::FloatConst:
            return v < m_.float_consts.size() ? double_text(m_.float_consts[v]) : bad("constant", v);
        case OperandKind::F32Imm: return float_text(std::bit_cast<float>(v));
        case OperandKind::Label: return labels_ ? labels_->name(v) : label_name(m_, v);
        case OperandKind::Proc: return v < m_.procs.size() ? m_.procs[v].name : bad("procedure", v);
        case OperandKind::String: return v < m_.strings.size() ? quoted(m_.strings[v]) : bad("string", v);
        case OperandKind::Region: return region(v);
        case OperandKind::Param: return param(v);
        case OperandKind::LaunchSite: return launch(v, word_a(w));
        case OperandKind::Channel: return v < m_.channels.size() ? m_.channels[v].name : bad("channel", v);
        case OperandKind::Barrier: return v < m_.barriers.size() ? m_.barriers[v].name : bad("barrier", v);
        case OperandKind::LoopSite:  // the number, and what it runs, in a comment
            return std::to_string(v) + "  ; " +
                   (v < m_.loop_kernels.size() ? describe_loop(m_, m_.loop_kernels[v]) : bad("loop kernel", v));
        case OperandKind::Mem: return region(v) + "[r" + std::to_string(word_field(w, o.index_field)) + "]";
        case OperandKind::PMem: return param(v) + "[r" + std::to_string(word_field(w, o.index_field)) + "]";
        }
        return "?";
    }

    std::string region(std::uint32_t v) const {
        if (is_handle_operand(v)) return "@r" + std::to_string(handle_register(v));
        return v < m_.regions.size() ? m_.regions[v].name : bad("region", v);
    }

    std::string param(std::uint32_t v) const {
        return kernel_ && v < kernel_->params.size() ? kernel_->params[v].name : bad("parameter", v);
    }

    std::string launch(std::uint32_t site, std::uint8_t count_reg) const {
        if (site >= m_.launches.size()) return bad("launch site", site);
        const LaunchSite& s = m_.launches[site];
        std::string out = s.kernel < m_.kernels.size() ? m_.kernels[s.kernel].name : bad("kernel", s.kernel);
        out += ", r" + std::to_string(count_reg);
        for (const LaunchArg& a : s.args) {
            switch (a.kind) {
            case LaunchArg::Kind::Region: out += ", " + region(a.index); break;
            case LaunchArg::Kind::IntReg: out += ", r" + std::to_string(a.index); break;
            case LaunchArg::Kind::FloatReg: out += ", f" + std::to_string(a.index); break;
            }
        }
        return out;
    }

    const Module& m_;
    const Kernel* kernel_;
    const LabelIndex* labels_;  // null: look labels up one by one (a single word)
};

std::string proc_word_text(const Module& m, Word w, const LabelIndex* labels = nullptr) {
    std::uint8_t op = word_op(w);
    if (!is_valid_op(op)) return bad("opcode", op);
    const OpInfo& info = op_info(static_cast<Op>(op));
    return instruction_text(info.mnemonic, OperandPrinter(m, nullptr, labels).operands(w, info.format));
}

std::string kernel_word_text(const Module& m, const Kernel& k, Word w) {
    std::uint8_t op = word_op(w);
    if (!is_valid_kop(op)) return bad("kernel opcode", op);
    const KOpInfo& info = kop_info(static_cast<KOp>(op));
    return instruction_text(info.mnemonic, OperandPrinter(m, &k, nullptr).operands(w, info.format));
}

std::string int_text(std::int64_t v) { return std::to_string(v); }

// One element of a List region, in the element type's own domain.
std::string element_text(ElemType t, const std::uint8_t* p) {
    switch (t) {
    case ElemType::U8: return std::to_string(p[0]);
    case ElemType::I32: { std::int32_t v; std::memcpy(&v, p, 4); return std::to_string(v); }
    case ElemType::U32: { std::uint32_t v; std::memcpy(&v, p, 4); return std::to_string(v); }
    case ElemType::I64: { std::int64_t v; std::memcpy(&v, p, 8); return std::to_string(v); }
    case ElemType::F32: { float v; std::memcpy(&v, p, 4); return float_text(v); }
    case ElemType::F64: { double v; std::memcpy(&v, p, 8); return double_text(v); }
    }
    return "?";
}

std::string region_text(const RegionDecl& r) {
    std::string type(elem_type_name(r.type));
    std::string out = ".region " + r.name + " ";
    auto value = [&](std::int64_t i, double f) { return is_float(r.type) ? double_text(f) : int_text(i); };
    switch (r.init) {
    case RegionInit::Zeros:
        return out + type + "[" + std::to_string(r.length) + "]" + (r.distributed ? " distributed" : "");
    case RegionInit::Fill:
        return out + type + "[" + std::to_string(r.length) + "] fill " + value(r.int_value0, r.float_value0);
    case RegionInit::Range:
        return out + type + "[" + std::to_string(r.length) + "] range " + value(r.int_value0, r.float_value0) +
               ", " + value(r.int_value1, r.float_value1);
    case RegionInit::List: {
        out += type + "[" + std::to_string(r.length) + "] =";
        std::size_t size = elem_size(r.type);
        for (std::size_t i = 0; i < r.length && (i + 1) * size <= r.data.size(); ++i)
            out += (i ? ", " : " ") + element_text(r.type, r.data.data() + i * size);
        return out;
    }
    case RegionInit::String:
        return out + type + "[] " + quoted(std::string_view(reinterpret_cast<const char*>(r.data.data()), r.data.size()));
    }
    return out;
}

std::string kernel_header(const Kernel& k) {
    std::string out = ".kernel " + k.name + " (";
    for (std::size_t i = 0; i < k.params.size(); ++i) {
        const KernelParam& p = k.params[i];
        if (i) out += ", ";
        if (p.kind == ParamKind::Buffer) {
            out += std::string(access_text(p.access)) + " " + p.name + ": " + std::string(elem_type_name(p.type)) + indexing_text(p);
        } else {
            out += p.name + ": " + std::string(elem_type_name(p.type));
        }
    }
    return out + ")";
}

class Writer {
public:
    Writer(const Module& m, const DisassembleOptions& o) : m_(m), opts_(o), labels_(m), owner_(m.labels.size(), kNoOwner) {
        // Each label's procedure (see label_owner), one pass over the procedures.
        std::vector<bool> inside(m.labels.size(), false);
        for (std::size_t i = 0; i < m.procs.size(); ++i) {
            const Procedure& p = m.procs[i];
            const std::uint64_t end = std::uint64_t{p.start} + p.length;
            for (const LabelIndex::Entry& e : labels_.in(p.start, end)) {
                if (e.pc < end && !inside[e.label]) {
                    inside[e.label] = true;
                    owner_[e.label] = i;
                } else if (e.pc == end && p.length != 0 && !inside[e.label]) {
                    owner_[e.label] = i;
                }
            }
        }
    }

    std::string run() {
        out_ += ".module " + m_.name + "\n";
        if (opts_.source_locations) {
            out_ += ".file " + quoted(m_.source_file) + "\n";
            for (std::size_t i = 0; i < m_.include_files.size(); ++i)
                out_ += ".file " + std::to_string(i + 1) + " " + quoted(m_.include_files[i]) + "\n";
        }
        if (!m_.regions.empty()) out_ += "\n";
        for (const RegionDecl& r : m_.regions) out_ += region_text(r) + "\n";
        if (!m_.channels.empty() || !m_.barriers.empty()) out_ += "\n";
        for (const ChannelDecl& c : m_.channels) out_ += ".channel " + c.name + " " + std::to_string(c.capacity) + "\n";
        for (const BarrierDecl& b : m_.barriers) out_ += ".barrier " + b.name + " " + std::to_string(b.parties) + "\n";
        for (std::size_t k = 0; k < m_.kernels.size(); ++k) kernel(m_.kernels[k], generated(k));
        for (std::size_t i = 0; i < m_.procs.size(); ++i) procedure(i);
        return out_;
    }

private:
    void loc(const std::vector<SourceLoc>& lines, std::size_t pc, std::string_view indent) {
        // An unknown position is written too (`.loc 0 0`), so that a partial
        // line table also survives the round trip.
        if (!opts_.source_locations || pc >= lines.size()) return;
        out_ += std::string(indent) + ".loc " + std::to_string(lines[pc].line) + " " + std::to_string(lines[pc].col) +
                (lines[pc].file != 0 ? " " + std::to_string(lines[pc].file) : std::string()) + "\n";
    }

    // A kernel the assembler made from a loop: it makes it again from the
    // loop when the text is assembled, so it is printed as comments only.
    bool generated(std::size_t kernel) const {
        return std::any_of(m_.loop_kernels.begin(), m_.loop_kernels.end(),
                           [&](const LoopKernel& l) { return l.kernel == kernel; });
    }

    void kernel(const Kernel& k, bool generated) {
        out_ += "\n";
        if (generated) out_ += "; generated by the assembler from a loop (docs/loop-kernels.md); it makes it again:\n";
        const std::size_t header_at = out_.size();
        out_ += kernel_header(k) + "\n";
        if (k.wide) out_ += std::string(kIndent) + ".wide\n";
        if (k.requirements.requires_gpu) out_ += std::string(kIndent) + ".requires gpu\n";
        if (k.requirements.min_memory != 0)
            out_ += std::string(kIndent) + ".requires mem >= " + size_literal(k.requirements.min_memory) + "\n";
        if (k.requirements.prefers_gpu) out_ += std::string(kIndent) + ".prefers gpu\n";
        std::size_t depth = 0;
        for (std::size_t pc = 0; pc < k.code.size(); ++pc) {
            const std::uint8_t op = word_op(k.code[pc]);
            // An unknown opcode (it prints as such) neither opens nor closes a block.
            const KEffect effect = is_valid_kop(op) ? kop_effect(static_cast<KOp>(op)) : KEffect::Pure;
            if (closes_block(effect) && depth > 0) --depth;
            std::string indent(kIndent.size() + 4 * depth, ' ');
            loc(k.lines, pc, indent);
            out_ += indent + kernel_word_text(m_, k, k.code[pc]) + "\n";
            if (opens_block(effect)) ++depth;
        }
        out_ += ".end\n";
        if (generated) comment_out(header_at);
    }

    // Turns the lines from `from` on into comments.
    void comment_out(std::size_t from) {
        std::string done = out_.substr(0, from);
        for (std::size_t at = from; at < out_.size();) {
            const std::size_t end = out_.find('\n', at);
            done += "; " + out_.substr(at, end - at + 1);
            at = end + 1;
        }
        out_ = std::move(done);
    }

    bool has_label(std::uint32_t pc) const { return !labels_.at(pc).empty(); }

    // A label belongs to the procedure whose words contain its pc, else to
    // the one it ends (a label after a procedure's last word): owner_, set
    // once. Jumps stay inside their procedure, so a label on a boundary is
    // the next one's.
    void labels_at(std::uint32_t pc, std::size_t proc) {
        for (const LabelIndex::Entry& e : labels_.at(pc))
            if (owner_[e.label] == proc) out_ += m_.labels[e.label].name + ":\n";
        if (synthetic_.count(pc)) out_ += labels_.name(pc) + ":\n";
    }

    // Jump targets that no label names (a module not made by the assembler)
    // get an "L<pc>" label so that the text still assembles.
    void find_unnamed_targets(std::uint64_t start, std::uint64_t end) {
        synthetic_.clear();
        for (std::uint64_t pc = start; pc < end && pc < m_.code.size(); ++pc) {
            Word w = m_.code[pc];
            if (!is_valid_op(word_op(w))) continue;
            const FormatInfo& f = format_info(op_info(static_cast<Op>(word_op(w))).format);
            for (std::size_t i = 0; i < f.count; ++i) {
                if (f.operands[i].kind != OperandKind::Label) continue;
                std::uint32_t target = word_field(w, f.operands[i].field);
                if (!has_label(target)) synthetic_.insert(target);
            }
        }
    }

    void procedure(std::size_t index) {
        const Procedure& p = m_.procs[index];
        out_ += "\n.proc " + p.name + "\n";
        if (p.requirements.gpu) out_ += std::string(kIndent) + ".requires gpu\n";
        if (p.requirements.min_memory != 0)
            out_ += std::string(kIndent) + ".requires mem >= " + size_literal(p.requirements.min_memory) + "\n";
        if (!p.requirements.node.empty()) out_ += std::string(kIndent) + ".requires node " + quoted(p.requirements.node) + "\n";
        if (p.launches_cluster) out_ += std::string(kIndent) + ".launches cluster\n";
        std::uint64_t end = std::uint64_t{p.start} + p.length;
        find_unnamed_targets(p.start, end);
        for (std::uint64_t pc = p.start; pc < end && pc < m_.code.size(); ++pc) {
            labels_at(static_cast<std::uint32_t>(pc), index);
            frame_mark(static_cast<std::uint32_t>(pc));
            const std::string text = proc_word_text(m_, m_.code[pc], &labels_);
            if (is_loop_word(m_.code[pc])) {
                // Written by the assembler in front of the loop it turns into
                // a kernel: a comment here, made again on assembly.
                out_ += std::string(kIndent) + "; " + text + "\n";
                continue;
            }
            loc(m_.lines, pc, kIndent);
            out_ += std::string(kIndent) + text + "\n";
        }
        if (p.length != 0 && end <= UINT32_MAX) labels_at(static_cast<std::uint32_t>(end), index);
        out_ += ".end\n";
    }

    // Comments only: the assembler ignores them and recomputes the same frames.
    void frame_mark(std::uint32_t pc) {
        if (!opts_.frames) return;
        while (block_ < m_.frames.size() && m_.frames[block_].start + m_.frames[block_].frame.size() <= pc) ++block_;
        if (block_ >= m_.frames.size() || pc < m_.frames[block_].start) return;
        const BlockFrames& b = m_.frames[block_];
        const std::uint16_t frame = b.frame[pc - b.start];
        if (pc == b.start || frame != b.frame[pc - b.start - 1])
            out_ += std::string(kIndent) + "; -- frame " + std::to_string(frame) + " --\n";
    }

    static constexpr std::size_t kNoOwner = SIZE_MAX;
    const Module& m_;
    const DisassembleOptions& opts_;
    LabelIndex labels_;
    std::vector<std::size_t> owner_;  // per label: its procedure, or kNoOwner
    std::string out_;
    std::set<std::uint32_t> synthetic_;
    std::size_t block_ = 0;  // the frame block frame_mark looks at; pcs only grow
};

// Where each line of a source starts, found once: a listing looks a line up
// per word.
class LineStarts {
public:
    explicit LineStarts(std::string_view source) : source_(source) {
        starts_.push_back(0);
        for (std::size_t i = 0; i < source.size(); ++i)
            if (source[i] == '\n') starts_.push_back(i + 1);
    }
    // The text of 1-based line `n`, trimmed, or empty.
    std::string_view line(std::uint32_t n) const;

private:
    std::string_view source_;
    std::vector<std::size_t> starts_;
};

std::string_view LineStarts::line(std::uint32_t n) const {
    if (n == 0 || n > starts_.size()) return {};
    const std::size_t start = starts_[n - 1];
    const std::size_t end = n < starts_.size() ? starts_[n] - 1 : source_.size();
    std::string_view line = source_.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    return line;
}

std::string hex_word(Word w) {
    char buf[17];
    auto [end, ec] = std::to_chars(buf, buf + 16, w, 16);
    std::string digits(buf, end);
    return std::string(16 - digits.size(), '0') + digits;
}

std::string address(std::size_t pc) {
    std::string s = std::to_string(pc);
    return s.size() < 4 ? std::string(4 - s.size(), '0') + s : s;
}

std::string listing_line(std::size_t pc, Word w, const std::string& text, const std::vector<SourceLoc>& lines,
                         const LineStarts& source) {
    std::string out = address(pc) + "  " + hex_word(w) + "  " + text;
    if (pc < lines.size() && lines[pc].line != 0) {
        std::string_view src = source.line(lines[pc].line);
        if (!src.empty()) out = pad(out, 56) + "  ; " + std::to_string(lines[pc].line) + ": " + std::string(src);
    }
    return out + "\n";
}

}  // namespace

std::string double_text(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return shortest_text(buf, end);
}

std::string float_text(float v) {
    if (std::isnan(v) || std::isinf(v)) return double_text(v);
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    // The assembler may read a literal as binary64 and then round it to
    // binary32; keep the short form only where that gives back the same bits.
    // Also, "3.4028235e38" (FLT_MAX) reads as a binary64 above FLT_MAX,
    // which a range check may reject.
    double back = 0;
    std::from_chars(buf, end, back);
    if (std::bit_cast<std::uint32_t>(static_cast<float>(back)) == std::bit_cast<std::uint32_t>(v) &&
        std::fabs(back) <= std::numeric_limits<float>::max())
        return shortest_text(buf, end);
    return double_text(v);
}

std::string quoted(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(bytes[i]);
        switch (c) {
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        case '\\': out += "\\\\"; break;
        case '"': out += "\\\""; break;
        default:
            if (c >= 0x20 && c < 0x7f) {
                out += static_cast<char>(c);
            } else if (c == 0 && !(i + 1 < bytes.size() && bytes[i + 1] >= '0' && bytes[i + 1] <= '9')) {
                out += "\\0";
            } else {
                out += "\\x";
                out += kHex[c >> 4];
                out += kHex[c & 15];
            }
        }
    }
    return out + "\"";
}

std::string label_name(const Module& m, std::uint32_t pc) {
    for (const Label& l : m.labels)
        if (l.pc == pc) return l.name;
    return "L" + std::to_string(pc);
}

std::string disassemble(const Module& m, const DisassembleOptions& options) { return Writer(m, options).run(); }

std::string disassemble_word(const Module& m, std::uint32_t pc) {
    if (pc >= m.code.size()) return bad("pc", pc);
    return proc_word_text(m, m.code[pc]);
}

std::string disassemble_kernel_word(const Module& m, std::uint32_t kernel, std::uint32_t pc) {
    if (kernel >= m.kernels.size()) return bad("kernel", kernel);
    const Kernel& k = m.kernels[kernel];
    if (pc >= k.code.size()) return bad("pc", pc);
    return kernel_word_text(m, k, k.code[pc]);
}

std::string listing(const Module& m, std::string_view source_text) {
    const LabelIndex labels(m);
    const LineStarts source(source_text);
    std::string out;
    for (const Procedure& p : m.procs) {
        out += "; .proc " + p.name + "\n";
        std::uint64_t end = std::uint64_t{p.start} + p.length;
        for (std::uint64_t pc = p.start; pc < end && pc < m.code.size(); ++pc) {
            for (const LabelIndex::Entry& e : labels.at(static_cast<std::uint32_t>(pc))) out += "; " + m.labels[e.label].name + ":\n";
            out += listing_line(pc, m.code[pc], proc_word_text(m, m.code[pc], &labels), m.lines, source);
        }
    }
    for (std::uint32_t k = 0; k < m.kernels.size(); ++k) {
        const Kernel& kernel = m.kernels[k];
        out += "; .kernel " + kernel.name;
        for (const LoopKernel& l : m.loop_kernels)
            if (l.kernel == k) out += " (made by the assembler: " + describe_loop(m, l) + ")";
        out += "\n";
        for (std::uint32_t pc = 0; pc < kernel.code.size(); ++pc)
            out += listing_line(pc, kernel.code[pc], disassemble_kernel_word(m, k, pc), kernel.lines, source);
    }
    return out;
}

}  // namespace polymer
