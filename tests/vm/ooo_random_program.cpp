#include "ooo_random_program.h"

#include <algorithm>
#include <random>
#include <sstream>

#include "table_ops.h"

namespace polymer::test {
namespace {

std::vector<std::string> operator-(std::vector<std::string> a, const std::vector<std::string>& b) {
    std::erase_if(a, [&](const std::string& s) { return std::find(b.begin(), b.end(), s) != b.end(); });
    return a;
}

// Register plan: r1..r12 and f1..f8 are general; r13 an index or divisor
// temporary; r14 a launch count; r15 an i32 uniform; r16/r17 printr bounds;
// r20..r22 loop counters (never written by the body); r24..r26 region
// handles of i32 regions, r27/r28 of f32 regions (so `@r24` may stand where
// a region is written; rarely they are made bad, to trap `bad-handle`), r29
// a handle for one launch argument, r30 a temporary.
class Generator {
public:
    explicit Generator(std::uint64_t seed) : rng_(seed) {}

    std::string program(int procs) {
        out_ << ".module random\n";
        for (const char* r : {"ia", "ib", "ic"}) {
            out_ << ".region " << r << " i32[] = ";
            for (int i = 0; i < 8; ++i) out_ << (i ? ", " : "") << pick(-20, 20);
            out_ << "\n";
        }
        for (const char* r : {"fa", "fb"}) {
            out_ << ".region " << r << " f32[] = ";
            for (int i = 0; i < 8; ++i) out_ << (i ? ", " : "") << pick(-8, 8) << ".5";
            out_ << "\n";
        }
        out_ << R"(
.kernel kmix (in x: i32[i], inout y: i32[i], k: i32)
        gid     r0
        ld      r1, x[r0]
        ld      r2, y[r0]
        ldp     r3, k
        mul     r1, r1, r3
        add     r2, r2, r1
        st      y[r0], r2
.end

.kernel kscale (in x: f32[i], out z: f32[i], a: f32)
        gid     r0
        ldf     f0, x[r0]
        ldpf    f1, a
        fmul    f2, f0, f1
        stf     z[r0], f2
.end

.proc helper
)";
        for (int i = pick(1, 4); i > 0; --i) scalar();
        out_ << "        ret\n.end\n";
        for (int i = 0; i < procs; ++i) main(i);
        return out_.str();
    }

private:
    void main(int index) {
        out_ << "\n.proc main" << index << "\n";
        emit("rgn r24, ia");
        emit("rgn r25, ib");
        emit("rgn r26, ic");
        emit("rgn r27, fa");
        emit("rgn r28, fb");
        block(pick(8, 30), 0);
        // The end: every general register, then every region.
        for (int i = 1; i <= 12; ++i) out_ << "        print r" << i << "\n        println\n";
        for (int i = 1; i <= 8; ++i) out_ << "        printf f" << i << "\n        println\n";
        out_ << "        li r16, 0\n        li r17, 8\n";
        for (const char* r : {"ia", "ib", "ic", "fa", "fb"}) out_ << "        printr " << r << ", r16, r17\n        println\n";
        out_ << "        halt\n.end\n";
    }

    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool chance(int percent) { return pick(0, 99) < percent; }
    std::string r() { return "r" + std::to_string(pick(1, 12)); }
    std::string f() { return "f" + std::to_string(pick(1, 8)); }
    std::string named_iregion() { return std::string(1, 'i') + static_cast<char>('a' + pick(0, 2)); }
    std::string named_fregion() { return chance(50) ? "fa" : "fb"; }
    std::string iregion() { return chance(25) ? "@r" + std::to_string(pick(24, 26)) : named_iregion(); }
    std::string fregion() { return chance(25) ? "@r" + std::to_string(pick(27, 28)) : named_fregion(); }

    // The handle registers change: another region of their type, a copy, a
    // trip through the value stack, or (rarely) something that is no handle
    // of their type.
    void handles() {
        const std::string i = "r" + std::to_string(pick(24, 26)), g = "r" + std::to_string(pick(27, 28));
        switch (pick(0, 5)) {
        case 0: emit("rgn " + i + ", " + iregion()); break;
        case 1: emit("rgn " + g + ", " + fregion()); break;
        case 2: emit("mov " + i + ", r" + std::to_string(pick(24, 26))); break;
        case 3: emit("push " + i); emit("pop r" + std::to_string(pick(24, 26))); break;
        case 4: emit("len " + r() + ", " + (chance(50) ? iregion() : fregion())); break;
        default:
            if (chance(50)) emit("li " + g + ", " + std::to_string(pick(0, 4)));   // not a handle
            else emit("rgn r30, " + named_iregion()), emit("mov " + g + ", r30");  // an i32 region for f32 ops,
            break;  // through a copy: a handle straight from `rgn` is type-checked by the assembler
        }
    }
    std::string label() { return "L" + std::to_string(labels_++); }
    void emit(const std::string& s) { out_ << "        " << s << "\n"; }

    // Mnemonics from the opcode table (table_ops.h): every row of the class and format.
    const std::vector<std::string> rrr_ = mnemonics(OpClass::Scalar, Format::RRR, effect::Trap);
    const std::vector<std::string> div_ = mnemonics(OpClass::Scalar, Format::RRR) - rrr_;
    const std::vector<std::string> rri_ = mnemonics(OpClass::Scalar, Format::RRI);
    const std::vector<std::string> rr_ = mnemonics(OpClass::Scalar, Format::RR);
    const std::vector<std::string> fff_ = mnemonics(OpClass::Float, Format::FFF);
    const std::vector<std::string> ff_ = mnemonics(OpClass::Float, Format::FF);
    const std::vector<std::string> rff_ = mnemonics(OpClass::Float, Format::RFF);
    const std::string& any(const std::vector<std::string>& v) { return v[pick(0, static_cast<int>(v.size()) - 1)]; }

    void scalar() {
        switch (pick(0, 6)) {
        case 0: emit("li " + r() + ", " + std::to_string(pick(-100, 100))); break;
        case 1: emit(any(rrr_) + " " + r() + ", " + r() + ", " + r()); break;
        case 2: emit(any(rri_) + " " + r() + ", " + r() + ", " + std::to_string(pick(0, 63))); break;
        case 3: emit(any(rr_) + " " + r() + ", " + r()); break;
        case 4: {  // division: mostly by a non-zero value, sometimes by whatever is there
            const std::string d = chance(4) ? r() : "r13";
            if (d == "r13") emit("ori r13, " + r() + ", 1");
            emit(any(div_) + " " + r() + ", " + r() + ", " + d);
            break;
        }
        default: emit("li " + r() + ", " + std::to_string(pick(0, 8))); break;
        }
    }

    void floating() {
        switch (pick(0, 5)) {
        case 0: emit("lif " + f() + ", " + std::to_string(pick(-40, 40)) + ".25"); break;
        case 1: emit(any(fff_) + " " + f() + ", " + f() + ", " + f()); break;
        case 2: emit(any(ff_) + " " + f() + ", " + f()); break;
        case 3: emit("itof " + f() + ", " + r()); break;
        case 4: emit("ftoi " + r() + ", " + f()); break;
        default: emit(any(rff_) + " " + r() + ", " + f() + ", " + f()); break;
        }
    }

    void index() {
        if (chance(3)) emit("mov r13, " + r());  // may be out of bounds
        else emit("andi r13, " + r() + ", 7");
    }

    void memory() {
        index();
        switch (pick(0, 3)) {
        case 0: emit("ld.i32 " + r() + ", " + iregion() + "[r13]"); break;
        case 1: emit("st.i32 " + iregion() + "[r13], " + r()); break;
        case 2: emit("ld.f32 " + f() + ", " + fregion() + "[r13]"); break;
        default: emit("st.f32 " + fregion() + "[r13], " + f()); break;
        }
    }

    const std::vector<std::string> ggg_ = mnemonics(OpClass::Vector, Format::GGG);

    void vector() {
        switch (pick(0, 6)) {
        case 0: emit(any(ggg_) + " " + iregion() + ", " + iregion() + ", " + iregion()); break;
        case 1: emit("vcopy " + iregion() + ", " + iregion()); break;
        case 2: emit("vfill " + iregion() + ", " + r()); break;
        case 3: emit("vadd " + fregion() + ", " + fregion() + ", " + fregion()); break;
        case 4: emit("vscale " + fregion() + ", " + fregion() + ", " + f()); break;
        case 5: emit("vfillf " + fregion() + ", " + f()); break;
        default: emit("vscan " + iregion() + ", " + iregion()); break;
        }
    }

    // A reduction, then usually a branch on its result.
    void reduce(int depth) {
        const std::string d = r();
        switch (pick(0, 3)) {
        case 0: emit("vsumi " + d + ", " + iregion()); break;
        case 1: emit("vredmaxi " + d + ", " + iregion()); break;
        case 2: emit("vdoti " + d + ", " + iregion() + ", " + iregion()); break;
        default: {
            const std::string g = f();
            emit("vsum " + g + ", " + fregion());
            emit("ftoi " + d + ", " + g);
            break;
        }
        }
        if (chance(70)) branch(depth, d);
    }

    void launch() {
        if (chance(3)) emit("li r14, -1");  // bad-launch
        else emit("li r14, " + std::to_string(pick(0, 8)));
        if (chance(60)) {
            emit("andi r15, " + r() + ", 15");
            std::string x = named_iregion(), y = named_iregion();
            while (y == x) y = named_iregion();
            emit("launch kmix, r14, " + x + ", " + y + ", r15");
        } else {  // the output buffer sometimes through a handle (r29: always the other region)
            const std::string x = named_fregion(), z = x == "fa" ? "fb" : "fa";
            std::string out = z;
            if (chance(40)) emit("rgn r29, " + z), out = "@r29";
            emit("launch kscale, r14, " + x + ", " + out + ", " + f());
        }
    }

    void print() {
        switch (pick(0, 4)) {
        case 0: emit("print " + r()); break;
        case 1: emit("printf " + f()); break;
        case 2: emit("prints \"|\""); break;
        case 3:
            emit("li r16, " + std::to_string(pick(0, 4)));
            emit("li r17, " + std::to_string(pick(0, 4)));
            emit("printr " + (chance(50) ? iregion() : fregion()) + ", r16, r17");
            break;
        default: emit("println"); break;
        }
    }

    void branch(int depth, std::string cond) {
        static const char* two[] = {"beq", "bne", "blt", "bge", "bltu", "bgeu"};
        const std::string other = label(), end = label();
        if (cond.empty()) cond = r();
        if (chance(50)) emit((chance(50) ? "bz " : "bnz ") + cond + ", " + other);
        else emit(std::string(two[pick(0, 5)]) + " " + cond + ", " + r() + ", " + other);
        block(pick(1, 5), depth + 1);
        emit("jmp " + end);
        out_ << other << ":\n";
        block(pick(0, 5), depth + 1);
        out_ << end << ":\n";
    }

    void loop(int depth) {
        const std::string counter = "r" + std::to_string(20 + loops_);
        const std::string top = label();
        ++loops_;
        emit("li " + counter + ", " + std::to_string(pick(1, 4)));
        out_ << top << ":\n";
        block(pick(2, 8), depth + 1);
        emit("addi " + counter + ", " + counter + ", -1");
        emit("bnz " + counter + ", " + top);
        --loops_;
    }

    void statement(int depth) {
        const int k = pick(0, 99);
        if (k < 25) scalar();
        else if (k < 35) floating();
        else if (k < 45) memory();
        else if (k < 55) vector();
        else if (k < 63) reduce(depth);
        else if (k < 71) launch();
        else if (k < 79) print();
        else if (k < 85 && depth < 3) branch(depth, "");
        else if (k < 89 && depth < 3 && loops_ < 3) loop(depth);
        else if (k < 92) emit("call helper");
        else if (k < 95) {
            if (chance(50)) emit("push " + r());
            else emit("pushf " + f());
            scalar();
            if (chance(50)) emit("pop " + r());
            else emit("popf " + f());
        } else if (k < 97) emit(chance(50) ? "wait" : "fence");
        else handles();
    }

    void block(int n, int depth) {
        for (int i = 0; i < n; ++i) statement(depth);
    }

    std::mt19937_64 rng_;
    std::ostringstream out_;
    int labels_ = 0;
    int loops_ = 0;
};

}  // namespace

std::string random_program(std::uint64_t seed, int procs) { return Generator(seed).program(procs); }

}  // namespace polymer::test
