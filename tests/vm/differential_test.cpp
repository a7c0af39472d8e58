// Differential test: seeded random programs (straight-line code, if-blocks
// and bounded loops over the integer and float ops) run by the VM and by a
// small reference evaluator written here over the generator's own AST. The
// reference shares no code with the VM: it has its own semantics for every
// op. Final registers, output and trap must agree.
#include <gtest/gtest.h>

#include <bit>
#include <bitset>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "table_ops.h"
#include "vm_test_util.h"

namespace polymer::test {
namespace {

using i64 = std::int64_t;
using u64 = std::uint64_t;

enum class Kind { IntRRR, IntRRI, IntRR, Li, FloatFFF, FloatFF, Lif, FloatCmp, Itof, Ftoi, Print, Printf, If, Loop };

struct Stmt {
    Kind kind;
    std::string op;
    int a = 0, b = 0, c = 0;
    i64 imm = 0;
    double fimm = 0;
    std::vector<Stmt> body;  // If / Loop
};

// From the opcode table: every row of these classes and formats (table_ops.h).
const std::vector<std::string> kIntRRR = test::mnemonics(OpClass::Scalar, Format::RRR);
const std::vector<std::string> kIntRRI = test::mnemonics(OpClass::Scalar, Format::RRI);
const std::vector<std::string> kIntRR = test::mnemonics(OpClass::Scalar, Format::RR);
const std::vector<std::string> kFloatFFF = test::mnemonics(OpClass::Float, Format::FFF);
const std::vector<std::string> kFloatFF = test::mnemonics(OpClass::Float, Format::FF);
const std::vector<std::string> kFloatCmp = test::mnemonics(OpClass::Float, Format::RFF);
const std::vector<std::string> kBranches = test::mnemonics(OpClass::Control, Format::RRL);

// Data registers r0..r27 and f0..f31; r28..r31 count loops (never written by bodies).
constexpr int kDataIntRegs = 28;

class Generator {
public:
    explicit Generator(std::uint32_t seed) : rng_(seed) {}

    std::vector<Stmt> program() { return block(0, pick(10, 50)); }

private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    int ireg() { return pick(0, kDataIntRegs - 1); }
    int freg() { return pick(0, 31); }

    i64 int_value() {
        switch (pick(0, 6)) {
        case 0: return pick(-3, 3);
        case 1: return std::numeric_limits<i64>::min();
        case 2: return std::numeric_limits<i64>::max();
        case 3: return pick(60, 70);  // shift amounts around 64
        case 4: return static_cast<i64>(rng_());
        default: return static_cast<i64>((u64{rng_()} << 32) ^ rng_());
        }
    }

    double float_value() {
        static const double specials[] = {0.0, -0.0, 1.0, -1.5, 0.1, 1e300, -1e-300, 5e-324,
                                          std::numeric_limits<double>::infinity(),
                                          -std::numeric_limits<double>::infinity(),
                                          std::numeric_limits<double>::quiet_NaN(), 9.2233720368547758e18,
                                          -9.2233720368547758e18, 2.5, -2.5};
        if (pick(0, 2) == 0) return specials[pick(0, std::size(specials) - 1)];
        return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
    }

    std::vector<Stmt> block(int depth, int n) {
        std::vector<Stmt> out;
        for (int i = 0; i < n; ++i) {
            Stmt s = stmt(depth);
            // Registers start at zero, so most divisions would trap: usually make the divisor odd first.
            if (s.kind == Kind::IntRRR && (s.op.rfind("div", 0) == 0 || s.op.rfind("rem", 0) == 0) && pick(0, 9) != 0) {
                Stmt guard;
                guard.kind = Kind::IntRRI, guard.op = "ori", guard.a = s.c, guard.b = s.c, guard.imm = 1;
                out.push_back(guard);
            }
            out.push_back(std::move(s));
        }
        return out;
    }

    Stmt stmt(int depth) {
        Stmt s;
        int roll = pick(0, 99);
        if (roll < 30) {
            s.kind = Kind::IntRRR, s.op = kIntRRR[pick(0, static_cast<int>(kIntRRR.size()) - 1)];
            s.a = ireg(), s.b = ireg(), s.c = ireg();
        } else if (roll < 40) {
            s.kind = Kind::IntRRI, s.op = kIntRRI[pick(0, static_cast<int>(kIntRRI.size()) - 1)];
            s.a = ireg(), s.b = ireg();
            s.imm = s.op[0] == 's' ? pick(0, 63) : static_cast<std::int32_t>(rng_()) >> pick(0, 31);
        } else if (roll < 45) {
            s.kind = Kind::IntRR, s.op = kIntRR[pick(0, static_cast<int>(kIntRR.size()) - 1)], s.a = ireg(), s.b = ireg();
        } else if (roll < 53) {
            s.kind = Kind::Li, s.a = ireg(), s.imm = int_value();
        } else if (roll < 65) {
            s.kind = Kind::FloatFFF, s.op = kFloatFFF[pick(0, static_cast<int>(kFloatFFF.size()) - 1)];
            s.a = freg(), s.b = freg(), s.c = freg();
        } else if (roll < 70) {
            s.kind = Kind::FloatFF, s.op = kFloatFF[pick(0, static_cast<int>(kFloatFF.size()) - 1)], s.a = freg(), s.b = freg();
        } else if (roll < 76) {
            s.kind = Kind::Lif, s.a = freg(), s.fimm = float_value();
        } else if (roll < 80) {
            s.kind = Kind::FloatCmp, s.op = kFloatCmp[pick(0, static_cast<int>(kFloatCmp.size()) - 1)];
            s.a = ireg(), s.b = freg(), s.c = freg();
        } else if (roll < 83) {
            s.kind = Kind::Itof, s.a = freg(), s.b = ireg();
        } else if (roll < 86) {
            s.kind = Kind::Ftoi, s.a = ireg(), s.b = freg();
        } else if (roll < 89) {
            s.kind = Kind::Print, s.a = ireg();
        } else if (roll < 92) {
            s.kind = Kind::Printf, s.a = freg();
        } else if (roll < 96 && depth < 2) {
            s.kind = Kind::If, s.op = kBranches[pick(0, static_cast<int>(kBranches.size()) - 1)];
            s.a = ireg(), s.b = ireg();
            s.body = block(depth + 1, pick(1, 6));
        } else if (depth < 2) {
            s.kind = Kind::Loop, s.a = 28 + depth, s.imm = pick(1, 12);
            s.body = block(depth + 1, pick(1, 8));
        } else {
            s.kind = Kind::Li, s.a = ireg(), s.imm = int_value();
        }
        return s;
    }

    std::mt19937 rng_;
};

std::string float_literal(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    std::string s = buf;
    if (s.find_first_of(".e") == std::string::npos) s += ".0";  // "-0" would read as the integer 0
    return s;
}

// --- the program as assembly ---------------------------------------------------

class Printer {
public:
    std::string text(const std::vector<Stmt>& program) {
        out_ << ".proc main\n";
        block(program);
        out_ << "        halt\n.end\n";
        return out_.str();
    }

private:
    void block(const std::vector<Stmt>& b) {
        for (const Stmt& s : b) stmt(s);
    }
    void stmt(const Stmt& s) {
        switch (s.kind) {
        case Kind::IntRRR: line(s.op + " r" + n(s.a) + ", r" + n(s.b) + ", r" + n(s.c)); break;
        case Kind::IntRRI: line(s.op + " r" + n(s.a) + ", r" + n(s.b) + ", " + std::to_string(s.imm)); break;
        case Kind::IntRR: line(s.op + " r" + n(s.a) + ", r" + n(s.b)); break;
        case Kind::Li: line("li r" + n(s.a) + ", " + std::to_string(s.imm)); break;
        case Kind::FloatFFF: line(s.op + " f" + n(s.a) + ", f" + n(s.b) + ", f" + n(s.c)); break;
        case Kind::FloatFF: line(s.op + " f" + n(s.a) + ", f" + n(s.b)); break;
        case Kind::Lif: line("lif f" + n(s.a) + ", " + float_literal(s.fimm)); break;
        case Kind::FloatCmp: line(s.op + " r" + n(s.a) + ", f" + n(s.b) + ", f" + n(s.c)); break;
        case Kind::Itof: line("itof f" + n(s.a) + ", r" + n(s.b)); break;
        case Kind::Ftoi: line("ftoi r" + n(s.a) + ", f" + n(s.b)); break;
        case Kind::Print: line("print r" + n(s.a)), line("println"); break;
        case Kind::Printf: line("printf f" + n(s.a)), line("println"); break;
        case Kind::If: {
            // The body runs when the branch is NOT taken.
            std::string skip = "L" + n(labels_++);
            line(s.op + " r" + n(s.a) + ", r" + n(s.b) + ", " + skip);
            block(s.body);
            out_ << skip << ":\n";
            break;
        }
        case Kind::Loop: {
            std::string top = "L" + n(labels_++);
            line("li r" + n(s.a) + ", " + std::to_string(s.imm));
            out_ << top << ":\n";
            block(s.body);
            line("addi r" + n(s.a) + ", r" + n(s.a) + ", -1");
            line("bnz r" + n(s.a) + ", " + top);
            break;
        }
        }
    }
    static std::string n(i64 v) { return std::to_string(v); }
    void line(const std::string& s) { out_ << "        " << s << "\n"; }

    std::ostringstream out_;
    int labels_ = 0;
};

// --- the reference evaluator -----------------------------------------------------

struct RefState {
    i64 r[32] = {};
    double f[32] = {};
    std::vector<std::string> lines;  // one per print
    bool trapped = false;            // division by zero
};

class Reference {
public:
    RefState run(const std::vector<Stmt>& program) {
        block(program);
        return st_;
    }

private:
    void block(const std::vector<Stmt>& b) {
        for (const Stmt& s : b) {
            if (st_.trapped) return;
            stmt(s);
        }
    }

    static i64 int_rrr(const std::string& op, i64 x, i64 y, bool& trap) {
        const u64 ux = static_cast<u64>(x), uy = static_cast<u64>(y);
        const __int128 wx = x, wy = y;
        if (op == "add") return static_cast<i64>(ux + uy);
        if (op == "sub") return static_cast<i64>(ux - uy);
        if (op == "mul") return static_cast<i64>(static_cast<unsigned __int128>(wx * wy));
        if (op == "div" || op == "rem" || op == "divu" || op == "remu") {
            if (y == 0) {
                trap = true;
                return 0;
            }
            if (op == "divu") return static_cast<i64>(ux / uy);
            if (op == "remu") return static_cast<i64>(ux % uy);
            // 128-bit arithmetic has no overflow case; truncate back to 64 bits.
            if (op == "div") return static_cast<i64>(static_cast<u64>(static_cast<unsigned __int128>(wx / wy)));
            return static_cast<i64>(wx % wy);
        }
        if (op == "and") return x & y;
        if (op == "or") return x | y;
        if (op == "xor") return x ^ y;
        if (op == "shl") return uy >= 64 ? 0 : static_cast<i64>(ux << uy);
        if (op == "shr") return uy >= 64 ? 0 : static_cast<i64>(ux >> uy);
        if (op == "sar") {
            if (uy >= 64) return x < 0 ? -1 : 0;
            return floor_shift(x, uy);
        }
        if (op == "min") return x < y ? x : y;
        if (op == "max") return x > y ? x : y;
        if (op == "eq") return x == y;
        if (op == "ne") return x != y;
        if (op == "lt") return x < y;
        if (op == "le") return x <= y;
        if (op == "ltu") return ux < uy;
        if (op == "leu") return ux <= uy;
        ADD_FAILURE() << "no reference for " << op;
        return 0;
    }

    // Arithmetic shift as floor division by 2^n, in 128 bits.
    static i64 floor_shift(i64 x, u64 n) {
        __int128 v = x;
        __int128 d = static_cast<__int128>(1) << n;
        __int128 q = v / d;
        if ((v % d) != 0 && v < 0) q -= 1;
        return static_cast<i64>(q);
    }

    static double float_fff(const std::string& op, double x, double y) {
        if (op == "fadd") return x + y;
        if (op == "fsub") return x - y;
        if (op == "fmul") return x * y;
        if (op == "fdiv") return x / y;
        if (op == "fmin") return std::isnan(x) ? y : std::isnan(y) ? x : (y < x ? y : x);
        if (op == "fmax") return std::isnan(x) ? y : std::isnan(y) ? x : (x < y ? y : x);
        if (op == "fpow") return std::pow(x, y);
        ADD_FAILURE() << "no reference for " << op;
        return 0;
    }

    // Zero bits above the highest 1 (from_top) or below the lowest, by a plain scan.
    static i64 ref_count_zeros(u64 x, bool from_top) {
        i64 n = 0;
        for (int bit = 0; bit < 64; ++bit) {
            const u64 mask = u64{1} << (from_top ? 63 - bit : bit);
            if (x & mask) break;
            ++n;
        }
        return n;
    }

    static i64 int_rr(const std::string& op, i64 x) {
        const u64 ux = static_cast<u64>(x);
        if (op == "mov") return x;
        if (op == "neg") return static_cast<i64>(0 - ux);
        if (op == "not") return static_cast<i64>(~ux);
        if (op == "popcnt") return std::bitset<64>(ux).count();
        if (op == "clz") return ref_count_zeros(ux, true);
        if (op == "ctz") return ref_count_zeros(ux, false);
        ADD_FAILURE() << "no reference for " << op;
        return 0;
    }

    static double float_ff(const std::string& op, double x) {
        if (op == "fmov") return x;
        if (op == "fneg") return -x;
        if (op == "fabs") return std::fabs(x);
        if (op == "fsqrt") return std::sqrt(x);
        if (op == "ffloor") return std::floor(x);
        if (op == "fsin") return std::sin(x);
        if (op == "fcos") return std::cos(x);
        if (op == "fexp") return std::exp(x);
        if (op == "flog") return std::log(x);
        ADD_FAILURE() << "no reference for " << op;
        return 0;
    }

    static i64 to_int(double v) {
        if (v != v) return 0;
        if (v >= 0x1p63) return std::numeric_limits<i64>::max();
        if (v <= -0x1p63) return std::numeric_limits<i64>::min();
        return static_cast<i64>(std::trunc(v));
    }

    void stmt(const Stmt& s) {
        i64* r = st_.r;
        double* f = st_.f;
        switch (s.kind) {
        case Kind::IntRRR: {
            bool trap = false;
            i64 v = int_rrr(s.op, r[s.b], r[s.c], trap);
            if (trap) st_.trapped = true;
            else r[s.a] = v;
            break;
        }
        case Kind::IntRRI: {
            bool trap = false;
            // `addi` is `add` with an immediate, and so on for every RRI row.
            r[s.a] = int_rrr(s.op.substr(0, s.op.size() - 1), r[s.b], s.imm, trap);
            break;
        }
        case Kind::IntRR: r[s.a] = int_rr(s.op, r[s.b]); break;
        case Kind::Li: r[s.a] = s.imm; break;
        case Kind::FloatFFF: f[s.a] = float_fff(s.op, f[s.b], f[s.c]); break;
        case Kind::FloatFF: f[s.a] = float_ff(s.op, f[s.b]); break;
        case Kind::Lif: f[s.a] = s.fimm; break;
        case Kind::FloatCmp:
            if (s.op == "feq") r[s.a] = f[s.b] == f[s.c];
            else if (s.op == "flt") r[s.a] = f[s.b] < f[s.c];
            else if (s.op == "fle") r[s.a] = f[s.b] <= f[s.c];
            else ADD_FAILURE() << "no reference for " << s.op;
            break;
        case Kind::Itof: f[s.a] = static_cast<double>(r[s.b]); break;
        case Kind::Ftoi: r[s.a] = to_int(f[s.b]); break;
        case Kind::Print: st_.lines.push_back("i " + std::to_string(r[s.a])); break;
        case Kind::Printf: {
            double v = f[s.a];
            u64 bits = std::isnan(v) ? 0x7ff8000000000000ull : std::bit_cast<u64>(v);
            st_.lines.push_back("f " + std::to_string(bits));
            break;
        }
        case Kind::If: {
            const i64 x = r[s.a], y = r[s.b];
            const u64 ux = static_cast<u64>(x), uy = static_cast<u64>(y);
            bool taken = s.op == "beq" ? x == y : s.op == "bne" ? x != y : s.op == "blt" ? x < y
                       : s.op == "bge" ? x >= y : s.op == "bltu" ? ux < uy : s.op == "bgeu" ? ux >= uy
                       : (ADD_FAILURE() << "no reference for " << s.op, false);
            if (!taken) block(s.body);
            break;
        }
        case Kind::Loop:
            r[s.a] = s.imm;
            do {
                block(s.body);
                if (st_.trapped) return;
                r[s.a] -= 1;
            } while (r[s.a] != 0);
            break;
        }
    }

    RefState st_;
};

// The VM's output, one print per line, in the reference's form: integers as
// text, floats parsed back to their bits (so only the value, not the
// formatting, is compared here; the formatting has its own tests).
std::vector<std::string> normalise_output(const std::string& text, const std::vector<std::string>& expected_kinds) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    std::size_t i = 0;
    while (std::getline(in, line)) {
        const bool is_float = i < expected_kinds.size() && expected_kinds[i][0] == 'f';
        if (is_float) {
            double v = std::strtod(line.c_str(), nullptr);
            u64 bits = std::isnan(v) ? 0x7ff8000000000000ull : std::bit_cast<u64>(v);
            out.push_back("f " + std::to_string(bits));
        } else {
            out.push_back("i " + line);
        }
        ++i;
    }
    return out;
}

bool same_float(double a, double b) {
    return (std::isnan(a) && std::isnan(b)) || std::bit_cast<u64>(a) == std::bit_cast<u64>(b);
}

TEST(Differential, RandomProgramsMatchTheReference) {
    constexpr int kPrograms = 10000;
    int traps = 0;
    for (int seed = 1; seed <= kPrograms; ++seed) {
        std::vector<Stmt> program = Generator(static_cast<std::uint32_t>(seed)).program();
        const std::string source = Printer().text(program);
        const RefState want = Reference().run(program);
        ProgramRun got = run_source(source);
        ASSERT_TRUE(got.machine) << "seed " << seed;
        ASSERT_EQ(got.result.status == RunStatus::Trapped, want.trapped) << "seed " << seed << "\n" << source;
        if (want.trapped) {
            ++traps;
            ASSERT_EQ(got.trap_kind(), TrapKind::DivisionByZero) << "seed " << seed;
        }
        ASSERT_EQ(normalise_output(*got.output, want.lines), want.lines) << "seed " << seed << "\n" << source;
        for (unsigned i = 0; i < 32; ++i) {
            ASSERT_EQ(got.r(i), want.r[i]) << "r" << i << ", seed " << seed << "\n" << source;
            ASSERT_TRUE(same_float(got.f(i), want.f[i]))
                << "f" << i << ": " << got.f(i) << " vs " << want.f[i] << ", seed " << seed << "\n" << source;
        }
    }
    // The generator must exercise both endings, or the comparison proves little.
    EXPECT_GT(traps, 10);
    EXPECT_LT(traps, kPrograms / 2);
}

}  // namespace
}  // namespace polymer::test
