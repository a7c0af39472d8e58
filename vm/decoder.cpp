#include "vm/decoded_insn.h"

#include <optional>

#include "isa/vector_rules.h"

namespace polymer {

namespace {

class Decoder {
public:
    Decoder(const Module& m, RegionStore& regions) : m_(m), regions_(regions) {}

    Result<std::vector<DecodedInsn>> run() {
        if (regions_.size() > kMaxRegions)
            return Error{std::to_string(regions_.size()) + " regions: a module has at most " + std::to_string(kMaxRegions)};
        std::vector<DecodedInsn> out(m_.code.size() + 1);
        for (const Procedure& p : m_.procs)
            if (std::uint64_t{p.start} + p.length > m_.code.size())
                return Error{"proc '" + p.name + "' runs past the end of the code"};
        for (std::size_t pc = 0; pc < m_.code.size(); ++pc) {
            std::string why = decode(static_cast<std::uint32_t>(pc), out[pc]);
            if (!why.empty()) return Error{"word " + std::to_string(pc) + ": " + why};
        }
        out.back().op = Op::Halt;
        for (DecodedInsn& d : out) {
            const Format f = op_info(d.op).format;
            if (f == Format::L || f == Format::RL || f == Format::RRL || f == Format::P)
                d.target = &out[static_cast<std::uint32_t>(d.imm)];  // checked in range above
        }
        return out;
    }

private:
    std::string decode(std::uint32_t pc, DecodedInsn& d) {
        const Word w = m_.code[pc];
        if (!is_valid_op(word_op(w))) return "unknown opcode " + std::to_string(word_op(w));
        d.op = static_cast<Op>(word_op(w));
        d.a = word_a(w);
        d.b = word_b(w);
        d.c = word_c(w);
        d.imm = word_imm(w);
        const OpInfo& info = op_info(d.op);
        const FormatInfo& f = format_info(info.format);
        for (std::uint8_t i = 0; i < f.count; ++i) {
            std::string why = check_operand(pc, d, f.operands[i], word_field(w, f.operands[i].field));
            if (!why.empty()) return std::string(info.mnemonic) + ": " + why;
        }
        std::string why = resolve(d, w);
        return why.empty() ? why : std::string(info.mnemonic) + ": " + why;
    }

    std::string check_operand(std::uint32_t pc, DecodedInsn& d, const OperandSpec& s, std::uint32_t v) {
        switch (s.kind) {
        case OperandKind::IntReg:
        case OperandKind::FloatReg:
            return v < kIntRegisters ? "" : "register " + std::to_string(v) + " out of range";
        case OperandKind::Region:
            return is_handle_operand(v) || v < regions_.size() ? "" : "region " + std::to_string(v) + " out of range";
        case OperandKind::Mem:
            if (!is_handle_operand(v) && v >= regions_.size()) return "region " + std::to_string(v) + " out of range";
            return word_field(m_.code[pc], s.index_field) < kIntRegisters ? "" : "index register out of range";
        case OperandKind::IntConst:
            if (v >= m_.int_consts.size()) return "integer constant " + std::to_string(v) + " out of range";
            d.int_const = m_.int_consts[v];
            return {};
        case OperandKind::FloatConst:
            if (v >= m_.float_consts.size()) return "float constant " + std::to_string(v) + " out of range";
            d.float_const = m_.float_consts[v];
            return {};
        case OperandKind::String:
            if (v >= m_.strings.size()) return "string " + std::to_string(v) + " out of range";
            d.string = &m_.strings[v];
            return {};
        case OperandKind::Label: {
            const Procedure* p = proc_of(pc);
            if (p == nullptr || v < p->start || v >= std::uint64_t{p->start} + p->length)
                return "jump target " + std::to_string(v) + " is outside its procedure";
            return {};
        }
        case OperandKind::Proc:
            if (v >= m_.procs.size()) return "procedure " + std::to_string(v) + " out of range";
            d.imm = static_cast<std::int32_t>(m_.procs[v].start);
            return {};
        case OperandKind::LaunchSite:
            if (v >= m_.launches.size() || m_.launches[v].kernel >= m_.kernels.size())
                return "launch site " + std::to_string(v) + " out of range";
            return {};
        case OperandKind::LoopSite:
            if (v >= m_.loop_kernels.size() || m_.loop_kernels[v].kernel >= m_.kernels.size())
                return "loop kernel " + std::to_string(v) + " out of range";
            return {};
        case OperandKind::Channel:
            return v < m_.channels.size() ? "" : "channel " + std::to_string(v) + " out of range";
        case OperandKind::Barrier:
            return v < m_.barriers.size() ? "" : "barrier " + std::to_string(v) + " out of range";
        case OperandKind::Digits:
            return d.imm >= 0 && d.imm <= kMaxDigits ? "" : "digit count " + std::to_string(d.imm) + " out of range";
        case OperandKind::Imm:
        case OperandKind::F32Imm:
        case OperandKind::Param:
        case OperandKind::PMem:
            return {};
        }
        return {};
    }

    // Operand facts the format alone does not give: the region types of
    // ld.T/st.T, the shift amount of shli/shri/sari, and the Region a
    // single-region op works on (len, rgn, alloc, free, printr; vector ops
    // find their regions when they run). A handle operand's region is found
    // when it runs: d.region stays nullptr.
    std::string resolve(DecodedInsn& d, Word w) {
        const OpInfo& info = op_info(d.op);
        if (info.elem) {
            if (is_handle_operand(d.c)) return {};
            Region& r = regions_[d.c];
            if (r.type != *info.elem)
                return "region '" + std::string(r.name) + "' holds " + std::string(elem_type_name(r.type)) +
                       " elements";
            d.region = &r;
            return {};
        }
        if (d.op == Op::Shli || d.op == Op::Shri || d.op == Op::Sari)
            return d.imm >= 0 && d.imm < 64 ? "" : "shift amount " + std::to_string(d.imm) + " is not in 0..63";
        if (as_vector_op(d.op)) return {};
        const FormatInfo& f = format_info(info.format);
        for (std::size_t i = 0; i < f.count; ++i)
            if (f.operands[i].kind == OperandKind::Region && !is_handle_operand(word_field(w, f.operands[i].field)))
                d.region = &regions_[word_field(w, f.operands[i].field)];
        if (info.text && d.region != nullptr && d.region->type != ElemType::U8)
            return "region '" + std::string(d.region->name) + "' holds " + std::string(elem_type_name(d.region->type)) +
                   " elements, not u8";
        return {};
    }

    const Procedure* proc_of(std::uint32_t pc) {
        if (last_ != nullptr && pc >= last_->start && pc < std::uint64_t{last_->start} + last_->length) return last_;
        for (const Procedure& p : m_.procs)
            if (pc >= p.start && pc < std::uint64_t{p.start} + p.length) return last_ = &p;
        return nullptr;
    }

    const Module& m_;
    RegionStore& regions_;
    const Procedure* last_ = nullptr;
};

}  // namespace

Result<std::vector<DecodedInsn>> decode_module(const Module& m, RegionStore& regions) {
    return Decoder(m, regions).run();
}

}  // namespace polymer
