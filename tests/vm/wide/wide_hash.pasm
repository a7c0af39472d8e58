; A wide kernel (docs/kernels.md, "Wide kernels") against the procedure loop
; it stands for: 64-bit wrapping multiplies, a logical shift by 47, an i64
; uniform i0 added to gid (the indexing of the kernels made from loops), and
; binary64 arithmetic. Every lane must give the procedure's bits.

.module wide_hash

.region xs i64[1000]
.region ks i64[1000]
.region ps i64[1000]
.region kf f64[1000]
.region pf f64[1000]

.kernel hash (in x: i64[], out h: i64[], out f: f64[], i0: i64, scale: f64)
        .wide
        gid     r1
        ldp     r2, i0
        add     r2, r2, r1          ; i = i0 + gid
        ld      r3, x[r2]
        li      r4, 1540483477
        mul     r3, r3, r4          ; wraps at 64 bits
        shri    r5, r3, 47
        xor     r3, r3, r5
        st      h[r2], r3
        itof    f1, r3
        ldpf    f2, scale
        fmul    f1, f1, f2
        stf     f[r2], f1
.end

.proc main
        len     r2, xs
        li      r3, 0x9E3779B97F4A7C15
        li      r1, 0
fill:
        mul     r4, r1, r3
        st.i64  xs[r1], r4
        addi    r1, r1, 1
        blt     r1, r2, fill

        li      r6, 0               ; i0
        lif     f6, 0.1
        launch  hash, r2, xs, ks, kf, r6, f6
        wait

        li      r1, 0
loop:
        ld.i64  r3, xs[r1]
        li      r4, 1540483477
        mul     r3, r3, r4
        shri    r5, r3, 47
        xor     r3, r3, r5
        st.i64  ps[r1], r3
        itof    f1, r3
        fmul    f1, f1, f6
        st.f64  pf[r1], f1
        addi    r1, r1, 1
        blt     r1, r2, loop

        li      r1, 0
        li      r7, 0               ; lanes that differ from the procedure
compare:
        ld.i64  r3, ks[r1]
        ld.i64  r4, ps[r1]
        ld.f64  f3, kf[r1]
        ld.f64  f4, pf[r1]
        feq     r5, f3, f4
        beq     r3, r4, same
        li      r5, 0
same:
        bnz     r5, next
        addi    r7, r7, 1
next:
        addi    r1, r1, 1
        blt     r1, r2, compare

        li      r1, 999
        ld.i64  r3, ks[r1]
        ld.f64  f3, kf[r1]
        prints  "lane 999: "
        print   r3
        prints  " "
        printf  f3
        println
        prints  "lanes that differ from the procedure: "
        print   r7
        println
        halt
.end
