// A seeded generator of valid Polymer assembly for round-trip tests: every
// opcode and operand format, regions of every initializer kind and element
// type, channels and barriers (their counts sometimes `.equ` constants),
// kernels with parameters, requirements and structured control flow,
// procedures with requirements,
// launches, labels, calls, and literals written in every accepted form.
#pragma once

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "isa/elem_type.h"
#include "isa/opcodes.h"

namespace polymer::testing {

class ProgramGenerator {
public:
    explicit ProgramGenerator(std::uint64_t seed) : rng_(seed), seed_(seed) {}

    std::string generate() {
        out_ = ".module gen" + std::to_string(seed_) + "\n";
        regions();
        channels_and_barriers();
        int kernel_count = 2 + pick(2);  // kernel 1 is wide
        for (int k = 0; k < kernel_count; ++k) kernel(k);
        int proc_count = 1 + pick(4);
        for (int p = 0; p < proc_count; ++p) procs_.push_back(p == 0 ? "main" : "proc" + std::to_string(p));
        for (int p = 0; p < proc_count; ++p) procedure(p);
        return out_;
    }

private:
    struct Region {
        std::string name;
        ElemType type;
    };
    struct Param {
        std::string name;
        bool buffer;
        ElemType type;
        std::string access;  // in | out | inout (buffers)
    };
    struct KernelDecl {
        std::string name;
        std::vector<Param> params;
        bool wide = false;  // `.wide`: 64-bit lanes, i64/f64 parameters
    };

    int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }
    bool chance(int percent) { return pick(100) < percent; }
    template <class T>
    const T& any(const std::vector<T>& v) { return v[static_cast<std::size_t>(pick(static_cast<int>(v.size())))]; }

    std::int64_t random_int(int bits) {
        switch (pick(4)) {
        case 0: return pick(21) - 10;
        case 1: return pick(1000);
        default: {
            std::uint64_t v = rng_();
            if (bits < 64) v &= (std::uint64_t{1} << bits) - 1;
            return static_cast<std::int64_t>(v);
        }
        }
    }

    // An integer literal in one of the accepted spellings.
    static std::string int_literal(std::int64_t v, int form) {
        if (form == 1 && v >= 0) {
            char buf[32];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::uint64_t>(v), 16);
            return "0x" + std::string(buf, end);
        }
        if (form == 2 && v >= 0 && v < 4096) {
            char buf[80];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::uint64_t>(v), 2);
            return "0b" + std::string(buf, end);
        }
        if (form == 3 && v >= 32 && v < 127 && v != '\'' && v != '\\') return "'" + std::string(1, static_cast<char>(v)) + "'";
        if (form == 4 && v >= 10000) {
            std::string d = std::to_string(v), out;
            for (std::size_t i = 0; i < d.size(); ++i) {
                if (i && (d.size() - i) % 3 == 0) out += '_';
                out += d[i];
            }
            return out;
        }
        if (form == 5 && v == '\n') return "'\\n'";
        return std::to_string(v);
    }
    std::string int_text(std::int64_t v) { return int_literal(v, pick(6)); }

    // A signed value that fits `bits` bits (as signed).
    std::int64_t signed_int(int bits) {
        std::int64_t v = random_int(64);
        if (bits < 64) {
            std::uint64_t u = static_cast<std::uint64_t>(v) & ((std::uint64_t{1} << bits) - 1);
            std::int64_t half = std::int64_t{1} << (bits - 1);
            v = static_cast<std::int64_t>(u);
            if (v >= half) v -= 2 * half;
        }
        return v;
    }

    std::string float_text(bool single) {
        switch (pick(10)) {
        case 0: return std::to_string(pick(21) - 10);  // an integer where a float is expected
        case 1: return "0.5";
        case 2: return "-0.25";
        case 3: return "1e-3";
        case 4: return "2.";
        case 5: return any(std::vector<std::string>{"inf", "-inf", "nan", "-0.0", "0.1", "1e30", "3.4028234663852886e38"});
        default: {
            char buf[64];
            std::to_chars_result r;
            if (single) r = std::to_chars(buf, buf + sizeof buf, std::bit_cast<float>(static_cast<std::uint32_t>(rng_())));
            else r = std::to_chars(buf, buf + sizeof buf, std::bit_cast<double>(rng_()));
            std::string s(buf, r.ptr);
            if (auto plus = s.find("e+"); plus != std::string::npos) s.erase(plus + 1, 1);
            if (s.find("nan") != std::string::npos) return "nan";
            if (s.find_first_of(".ei") == std::string::npos) s += ".0";  // 1e21 prints as digits only
            return s;
        }
        }
    }

    std::string string_literal() {
        static const std::vector<std::string> pieces = {"a", "Z", " ", "hello", "\\n", "\\t", "\\r", "\\0", "\\\\",
                                                        "\\\"", "\\'", "\\x41", "\\xff", "\\x00", "7", ";", "{}"};
        std::string s = "\"";
        int n = pick(8);
        for (int i = 0; i < n; ++i) s += any(pieces);
        return s + "\"";
    }

    void regions() {
        out_ += "\n";
        const ElemType all[] = {ElemType::U8, ElemType::I32, ElemType::U32, ElemType::I64, ElemType::F32, ElemType::F64};
        std::vector<ElemType> types(std::begin(all), std::end(all));
        int extra = pick(7);
        for (int i = 0; i < extra; ++i) types.push_back(all[pick(6)]);
        for (std::size_t i = 0; i < types.size(); ++i) region("g" + std::to_string(i), types[i]);
    }

    std::string element(ElemType t) {
        switch (t) {
        case ElemType::U8: return int_text(pick(256));
        case ElemType::I32: return int_text(signed_int(32));
        case ElemType::U32: return int_text(random_int(32) & 0xffffffff);
        case ElemType::I64: return int_text(signed_int(64));
        case ElemType::F32: return float_text(true);
        case ElemType::F64: return float_text(false);
        }
        return "0";
    }

    void region(const std::string& name, ElemType t) {
        regions_.push_back({name, t});
        std::string type(elem_type_name(t));
        std::string len = std::to_string(1 + pick(64));
        out_ += ".region " + name + " ";
        int kind = pick(t == ElemType::U8 ? 5 : 4);
        if (kind == 0) out_ += type + "[" + len + "]";
        if (kind == 1) out_ += type + "[" + len + "] fill " + element(t);
        if (kind == 2) out_ += type + "[" + len + "] range " + element(t) + ", " + element(t);
        if (kind == 3) {
            int n = 1 + pick(12);
            out_ += type + (chance(50) ? "[]" : "[" + std::to_string(n) + "]") + " =";
            for (int i = 0; i < n; ++i) out_ += (i ? ", " : " ") + element(t);
        }
        if (kind == 4) out_ += type + "[] " + string_literal();
        out_ += chance(20) ? "   ; a comment\n" : "\n";
    }

    // Usually one or more of each, so every procs opcode gets operands; a
    // count is a literal in any spelling, or a constant.
    void channels_and_barriers() {
        auto count = [&](std::uint32_t max) -> std::string {
            std::int64_t n = chance(50) ? 1 + pick(8) : 1 + static_cast<std::int64_t>(rng_() % max);
            if (chance(20)) n = max;
            if (!chance(25)) return int_text(n);
            const std::string name = "K" + std::to_string(constants_++);
            out_ += ".equ " + name + ", " + int_text(n) + "\n";
            return name;
        };
        const int channels = chance(90) ? 1 + pick(3) : 0, barriers = chance(90) ? 1 + pick(2) : 0;
        for (int i = 0; i < channels; ++i) {
            channels_.push_back("ch" + std::to_string(i));
            out_ += ".channel " + channels_.back() + " " + count(1u << 20) + "\n";
        }
        for (int i = 0; i < barriers; ++i) {
            barriers_.push_back("bar" + std::to_string(i));
            out_ += ".barrier " + barriers_.back() + " " + count(1024) + "\n";
        }
    }

    void kernel(int index) {
        KernelDecl k{"kern" + std::to_string(index), {}, index == 1 || (index > 1 && chance(50))};
        if (index == 0) {  // one of everything, so every kernel opcode has operands
            k.params = {{"q0", true, ElemType::I32, "in"},  {"q1", true, ElemType::U32, "inout"},
                        {"q2", true, ElemType::F32, "inout"}, {"q3", true, ElemType::F32, "out"},
                        {"q4", false, ElemType::I32, ""},   {"q5", false, ElemType::F32, ""}};
        } else {
            int n = pick(5);
            for (int i = 0; i < n; ++i) {
                bool buffer = chance(70);
                const ElemType buf[] = {ElemType::I32, ElemType::U32, ElemType::F32, ElemType::I64, ElemType::F64};
                const ElemType uni[] = {ElemType::I32, ElemType::F32, ElemType::I64, ElemType::F64};
                const char* access[] = {"in", "out", "inout"};
                k.params.push_back({"q" + std::to_string(i), buffer,
                                    buffer ? buf[pick(k.wide ? 5 : 3)] : uni[pick(k.wide ? 4 : 2)],
                                    buffer ? access[pick(3)] : ""});
            }
        }
        out_ += "\n.kernel " + k.name + " (";
        for (std::size_t i = 0; i < k.params.size(); ++i) {
            const Param& p = k.params[i];
            if (i) out_ += ", ";
            if (p.buffer) out_ += p.access + " " + p.name + ": " + std::string(elem_type_name(p.type)) + indexing(p);
            else out_ += p.name + ": " + std::string(elem_type_name(p.type));
        }
        out_ += ")\n";
        if (chance(30)) out_ += "        .requires gpu\n";
        if (chance(30)) out_ += "        .requires mem >= " + any(std::vector<std::string>{"4G", "512M", "1K", "4096", "3", "1T"}) + "\n";
        if (chance(30)) out_ += "        .prefers gpu\n";
        const bool wide_at_end = k.wide && chance(30);  // `.wide` may come anywhere in the body
        if (k.wide && !wide_at_end) out_ += "        .wide\n";
        kernels_.push_back(k);
        kernel_block(k, 1, false, 2 + pick(index == 0 ? 40 : 12));
        if (wide_at_end) out_ += "        .wide\n";
        out_ += ".end\n";
    }

    // `[i]`, `[]`, or for an `in` buffer sometimes a window `[i-A..i+B]`.
    std::string indexing(const Param& p) {
        std::string text = chance(60) ? "[i]" : "[]";
        if (p.access != "in" || !chance(25)) return text;
        auto end = [](int offset) {
            return offset == 0 ? std::string("i") : (offset < 0 ? "i" : "i+") + std::to_string(offset);
        };
        const int lo = pick(9) - 6, hi = lo + pick(6);
        return "[" + end(lo) + ".." + end(hi) + "]";
    }

    std::string reg() { return "r" + std::to_string(pick(32)); }
    std::string freg() { return "f" + std::to_string(pick(32)); }

    // A parameter of `k` fit for kernel opcode `mn`, or empty if there is none.
    std::string param_for(const KernelDecl& k, std::string_view mn) {
        std::vector<std::string> fit;
        for (const Param& p : k.params) {
            bool is_int = !is_float(p.type);
            bool readable = p.access != "out", writable = p.access != "in";
            bool ok = (mn == "ld" && p.buffer && is_int && readable) || (mn == "ldf" && p.buffer && !is_int && readable) ||
                      (mn == "st" && p.buffer && is_int && writable) ||
                      (mn == "atadd" && p.buffer && is_int && p.type != ElemType::I64 && p.access == "inout") ||
                      (mn == "stf" && p.buffer && !is_int && writable) || (mn == "ldp" && !p.buffer && is_int) ||
                      (mn == "ldpf" && !p.buffer && !is_int) || (mn == "blen" && p.buffer);
            if (ok) fit.push_back(p.name);
        }
        return fit.empty() ? std::string() : any(fit);
    }

    void kernel_line(int depth, const std::string& text) {
        out_ += std::string(static_cast<std::size_t>(4 + 4 * depth), ' ') + text + "\n";
    }

    void kernel_block(const KernelDecl& k, int depth, bool in_loop, int n) {
        for (int i = 0; i < n; ++i) {
            int what = pick(100);
            if (depth < 4 && what < 8) {
                kernel_line(depth, "if " + reg());
                kernel_block(k, depth + 1, in_loop, pick(4));
                if (chance(50)) {
                    kernel_line(depth, "else");
                    kernel_block(k, depth + 1, in_loop, pick(4));
                }
                kernel_line(depth, "end");
            } else if (depth < 4 && what < 14) {
                kernel_line(depth, "loop");
                kernel_block(k, depth + 1, true, 1 + pick(4));
                kernel_line(depth, "end");
            } else if (in_loop && what < 18) {
                kernel_line(depth, chance(50) ? "break" : "continue");
            } else if (what < 20) {
                kernel_line(depth, "exit");
            } else {
                const KOp code = kAllKOps[static_cast<std::size_t>(pick(static_cast<int>(kKernelOpCount)))];
                const KOpInfo& op = kop_info(code);
                std::string_view mn = op.mnemonic;
                if (mn == "if" || mn == "else" || mn == "loop" || mn == "end" || mn == "break" || mn == "continue") continue;
                if (k.wide && !available_in_wide_kernels(code)) continue;
                std::string operands;
                if (!kernel_operands(k, op, operands)) continue;
                kernel_line(depth, std::string(mn) + (operands.empty() ? "" : " " + operands));
            }
        }
    }

    bool kernel_operands(const KernelDecl& k, const KOpInfo& op, std::string& out) {
        const FormatInfo& f = format_info(op.format);
        for (std::size_t i = 0; i < f.count; ++i) {
            std::string o;
            switch (f.operands[i].kind) {
            case OperandKind::IntReg: o = reg(); break;
            case OperandKind::FloatReg: o = freg(); break;
            case OperandKind::Imm: {
                // Shift amounts 0..31 (wide: 0..63); other immediates any 32
                // bits, signed or unsigned (wide: signed).
                const std::int64_t v = signed_int(32);
                if (is_kernel_shift_immediate(*find_kop(op.mnemonic))) o = std::to_string(pick(k.wide ? 64 : 32));
                else o = chance(50) || k.wide ? int_text(v) : int_text(static_cast<std::uint32_t>(v));
                break;
            }
            case OperandKind::F32Imm: o = float_text(true); break;
            case OperandKind::Param:
            case OperandKind::PMem: {
                std::string p = param_for(k, op.mnemonic);
                if (p.empty()) return false;
                o = f.operands[i].kind == OperandKind::Param ? p : p + "[" + reg() + "]";
                break;
            }
            default: return false;
            }
            out += (i ? ", " : "") + o;
        }
        return true;
    }

    // A region fit for procedure opcode `op`: the type its Regions column
    // names (ld.T/st.T: T; a vector op: its rule's kind), else any type but
    // u8 (vector ops want numbers).
    std::string region_for(const OpInfo& op, ElemType* chosen = nullptr) {
        std::vector<const Region*> fit;
        for (const Region& r : regions_) {
            bool ok;
            if (op.elem) ok = r.type == *op.elem;
            else if (op.text) ok = r.type == ElemType::U8;
            else if (chosen && *chosen != ElemType::U8) ok = r.type == *chosen;
            else if (op.vector.kind == VectorKind::Int) ok = !is_float(r.type) && r.type != ElemType::U8;
            else if (op.vector.kind == VectorKind::Float) ok = is_float(r.type);
            else if (op.cls == OpClass::Vector) ok = r.type != ElemType::U8;
            else ok = true;
            if (ok) fit.push_back(&r);
        }
        const Region* r = any(fit);
        if (chosen && op.cls == OpClass::Vector) *chosen = r->type;
        return r->name;
    }

    // `.requires` lines at the top of a procedure, each kind at most once, in
    // any order; a node name as an identifier or in quotes.
    void proc_requirements() {
        std::vector<std::string> lines;
        if (chance(15)) lines.push_back(".requires gpu");
        if (chance(15))
            lines.push_back(".requires mem >= " + any(std::vector<std::string>{"4G", "512M", "1K", "4096", "3", "1T", "0"}));
        if (chance(15)) lines.push_back(".requires node " + any(std::vector<std::string>{"box3", "\"local-1\"", "\"10.0.0.2\"", "\"a\\tb\""}));
        for (std::size_t i = lines.size(); i > 1; --i) std::swap(lines[i - 1], lines[static_cast<std::size_t>(pick(static_cast<int>(i)))]);
        for (const std::string& l : lines) out_ += "        " + l + "\n";
    }

    void procedure(int index) {
        out_ += "\n.proc " + procs_[static_cast<std::size_t>(index)] + "\n";
        proc_requirements();
        int n = 4 + pick(index == 0 ? 120 : 30);
        int label_count = 1 + pick(4);
        std::vector<std::string> labels;
        std::vector<int> label_at;
        for (int i = 0; i < label_count; ++i) {
            labels.push_back("l" + std::to_string(i));
            label_at.push_back(pick(n));
        }
        for (int i = 0; i < n; ++i) {
            for (int l = 0; l < label_count; ++l)
                if (label_at[static_cast<std::size_t>(l)] == i) out_ += labels[static_cast<std::size_t>(l)] + ":\n";
            std::string text;
            while (text.empty()) text = instruction(labels);
            out_ += "        " + text + (chance(10) ? "  ; note" : "") + "\n";
        }
        out_ += index == 0 ? "        halt\n.end\n" : "        ret\n.end\n";
    }

    std::string instruction(const std::vector<std::string>& labels) {
        const OpInfo& op = op_info(kAllOps[static_cast<std::size_t>(pick(static_cast<int>(kOpCount)))]);
        std::string_view mn = op.mnemonic;
        if (mn == "halt" || mn == "ret") return "";  // only at the end, so every label stays inside
        if (op.format == Format::Launch) return launch();
        const FormatInfo& f = format_info(op.format);
        std::string out(mn);
        ElemType vector_type = ElemType::U8;  // set by the first region of a vector op
        bool shift = mn == "shli" || mn == "shri" || mn == "sari";
        for (std::size_t i = 0; i < f.count; ++i) {
            std::string o;
            switch (f.operands[i].kind) {
            case OperandKind::IntReg: o = reg(); break;
            case OperandKind::FloatReg: o = freg(); break;
            case OperandKind::Imm: o = shift ? std::to_string(pick(64)) : int_text(signed_int(32)); break;
            case OperandKind::Digits: o = std::to_string(pick(kMaxDigits + 1)); break;
            case OperandKind::IntConst: o = int_text(signed_int(64)); break;
            case OperandKind::FloatConst: o = float_text(false); break;
            case OperandKind::Label: o = any(labels); break;
            case OperandKind::Proc: o = any(procs_); break;
            case OperandKind::String: o = string_literal(); break;
            case OperandKind::Region: o = region_for(op, &vector_type); break;
            case OperandKind::Mem: o = region_for(op) + "[" + reg() + "]"; break;
            case OperandKind::Channel:
                if (channels_.empty()) return "";
                o = any(channels_);
                break;
            case OperandKind::Barrier:
                if (barriers_.empty()) return "";
                o = any(barriers_);
                break;
            default: return "";
            }
            out += (i ? ", " : " ") + o;
        }
        if (mn == "li" && chance(20)) out = "li " + reg() + ", " + int_text(signed_int(64));  // may become liw
        return out;
    }

    std::string launch() {
        const KernelDecl& k = any(kernels_);
        std::string out = "launch " + k.name + ", " + reg();
        for (const Param& p : k.params) {
            if (!p.buffer) {
                out += ", " + (is_float(p.type) ? freg() : reg());
                continue;
            }
            std::vector<std::string> fit;
            for (const Region& r : regions_)
                if (r.type == p.type) fit.push_back(r.name);
            out += ", " + any(fit);
        }
        return out;
    }

    std::mt19937_64 rng_;
    std::uint64_t seed_;
    std::string out_;
    std::vector<Region> regions_;
    std::vector<KernelDecl> kernels_;
    std::vector<std::string> procs_;
    std::vector<std::string> channels_, barriers_;
    int constants_ = 0;
};

}  // namespace polymer::testing
