// A program whose procedures allocate regions anew on both sides of a
// spawn (docs/language.md, "On the nodes"): the worker frees `scratch`
// (making room: a procedure on a node holds at most the bytes its regions
// had at its spawn) and allocs xs at 100 elements, which main sees after
// the send; main allocs ys anew at 16, which the worker sees after its
// recv. PLACE is where the worker goes (0: the home). It prints
// kAllocOnBothSidesOutput wherever the worker runs.
#pragma once

namespace polymer::test {

inline constexpr const char* kAllocOnBothSides = R"(
.region xs i64[4]
.region ys i64[8]
.region scratch i64[1024]
.channel back 1
.channel go 1
.proc worker
        free    scratch
        li      r2, 100
        alloc   xs, r2
        li      r3, 99
        li      r4, 7
        st.i64  xs[r3], r4
        send    back, r4            ; a release: xs's length and its 7
        recv    r5, go              ; an acquire: ys at 16, and its 42
        len     r6, ys
        li      r3, 15
        ld.i64  r7, ys[r3]
        add     r1, r6, r7
        len     r6, scratch
        add     r1, r1, r6
        ret
.end
.proc main
        li      r8, PLACE
        spawn   r9, worker, r8
        li      r8, 0               ; the same registers wherever it went
        recv    r5, back
        len     r6, xs
        print   r6
        prints  " "
        li      r3, 99
        ld.i64  r4, xs[r3]
        print   r4
        println
        li      r2, 16
        alloc   ys, r2
        li      r3, 15
        li      r4, 42
        st.i64  ys[r3], r4
        send    go, r4
        join    r1, f1, r9
        print   r1
        println
        len     r6, scratch
        print   r6
        halt
.end
)";

inline constexpr const char* kAllocOnBothSidesOutput = "100 7\n58\n0";

}  // namespace polymer::test
