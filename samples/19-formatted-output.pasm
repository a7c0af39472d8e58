; Lesson 19: formatted output, with the n-body simulation
;
; What this shows
;   `printf` writes a float in its shortest round-trip form (lesson 6):
;   exact, but its width changes with the value. Tables and reports want a
;   fixed number of decimals and aligned columns:
;
;     printfd fA, digits   write F[A] with `digits` decimals (0..64)
;     printw  rA, digits   write R[A] right-aligned in `digits` columns (0..64)
;
;   `printfd` rounds the exact binary value of F[A] to the nearest decimal
;   with that many digits (ties to even), the same on every machine and in
;   every locale: 0.125 with 2 decimals is "0.12" (a tie, to even), 2.675
;   is "2.67" (its binary value is just below 2.675), and 0.1 with 20
;   decimals shows the binary64 value behind the literal.
;
;   Part 2 is the n-body simulation of the Computer Language Benchmarks
;   Game: the Sun and the four giant planets, 1,000 steps of 0.01 days,
;   the total energy printed to 9 decimals before and after. The
;   benchmark's own output for 1,000 steps is
;       -0.169075164
;       -0.169087605
;   and this program prints the same first and last values, with the
;   energy every 250 steps (a C build of the benchmark, without fused
;   multiply-add, prints the same at every step shown).
;
; Try
;   Change `printfd f1, 9` to `printfd f1, 17` and compare the last digits
;   with `printf f1`; change the step count in r21 (10,000 steps take
;   about 6 million instructions, still well under a second).
.module formatted_output

; The bodies: positions in AU, velocities in AU/day (scaled to AU/year at
; the start), masses in solar masses (scaled by 4 pi^2).
.region x   f64[] = 0, 4.84143144246472090e+00, 8.34336671824457987e+00, 1.28943695621391310e+01, 1.53796971148509165e+01
.region y   f64[] = 0, -1.16032004402742839e+00, 4.12479856412430479e+00, -1.51111514016986312e+01, -2.59193146099879641e+01
.region z   f64[] = 0, -1.03622044471123109e-01, -4.03523417114321381e-01, -2.23307578892655734e-01, 1.79258772950371181e-01
.region vx  f64[] = 0, 1.66007664274403694e-03, -2.76742510726862411e-03, 2.96460137564761618e-03, 2.68067772490389322e-03
.region vy  f64[] = 0, 7.69901118419740425e-03, 4.99852801234917238e-03, 2.37847173959480950e-03, 1.62824170038242295e-03
.region vz  f64[] = 0, -6.90460016972063023e-05, 2.30417297573763929e-05, -2.96589568540237556e-05, -9.51592254519715870e-05
.region m   f64[] = 1, 9.54791938424326609e-04, 2.85885980666130812e-04, 4.36624404335156298e-05, 5.15138902046611451e-05

.proc main
        ; --- part 1: decimals and widths ---------------------------------
        lif     f1, 0.125
        printfd f1, 2               ; 0.12 (a tie: to even)
        prints  " "
        lif     f1, 2.675
        printfd f1, 2               ; 2.67 (2.675 is 2.67499999... in binary)
        prints  " "
        lif     f1, -0.0001
        printfd f1, 3               ; -0.000 (the sign stays)
        prints  " "
        lif     f1, 1e21
        printfd f1, 0               ; every integer digit, no point
        println
        lif     f1, 0.1
        printfd f1, 20              ; 0.10000000000000000555
        println
        li      r1, 1               ; a right-aligned column: 1, 10, ... 100000
        li      r2, 10
        li      r3, 0
column:
        printw  r1, 8
        println
        mul     r1, r1, r2
        addi    r3, r3, 1
        li      r4, 6
        blt     r3, r4, column

        ; --- part 2: the n-body simulation --------------------------------
        call    setup
        call    energy
        printfd f1, 9
        println
        li      r21, 1000           ; steps
        li      r22, 250            ; report every 250 steps
        li      r23, 0              ; steps done
step:
        call    advance
        addi    r23, r23, 1
        rem     r1, r23, r22
        bnz     r1, next
        prints  "step "
        printw  r23, 5
        prints  ": "
        call    energy
        printfd f1, 9
        println
next:
        blt     r23, r21, step
        halt
.end

; Scales velocities to AU/year and masses by 4 pi^2, then gives the Sun the
; velocity that makes the total momentum zero.
.proc setup
        lif     f20, 3.141592653589793
        lif     f21, 4.0
        fmul    f21, f21, f20
        fmul    f21, f21, f20       ; f21 = solar mass = 4 pi^2
        lif     f22, 365.24         ; days per year
        len     r20, x
        li      r1, 0
        lif     f10, 0.0            ; momentum px, py, pz
        lif     f11, 0.0
        lif     f12, 0.0
scale:
        ld.f64  f1, vx[r1]
        fmul    f1, f1, f22
        st.f64  vx[r1], f1
        ld.f64  f2, vy[r1]
        fmul    f2, f2, f22
        st.f64  vy[r1], f2
        ld.f64  f3, vz[r1]
        fmul    f3, f3, f22
        st.f64  vz[r1], f3
        ld.f64  f4, m[r1]
        fmul    f4, f4, f21
        st.f64  m[r1], f4
        fmul    f1, f1, f4
        fadd    f10, f10, f1
        fmul    f2, f2, f4
        fadd    f11, f11, f2
        fmul    f3, f3, f4
        fadd    f12, f12, f3
        addi    r1, r1, 1
        blt     r1, r20, scale
        li      r1, 0               ; the Sun: v = -p / solar mass
        fneg    f10, f10
        fdiv    f10, f10, f21
        st.f64  vx[r1], f10
        fneg    f11, f11
        fdiv    f11, f11, f21
        st.f64  vy[r1], f11
        fneg    f12, f12
        fdiv    f12, f12, f21
        st.f64  vz[r1], f12
        ret
.end

; f1 := kinetic minus potential energy. Uses r1, r2, r20, f1..f9.
.proc energy
        len     r20, x
        lif     f1, 0.0
        li      r1, 0
ebody:
        ld.f64  f2, vx[r1]          ; 0.5 * m * |v|^2
        fmul    f2, f2, f2
        ld.f64  f3, vy[r1]
        fmul    f3, f3, f3
        fadd    f2, f2, f3
        ld.f64  f3, vz[r1]
        fmul    f3, f3, f3
        fadd    f2, f2, f3
        ld.f64  f4, m[r1]
        lif     f3, 0.5
        fmul    f3, f3, f4
        fmul    f2, f3, f2
        fadd    f1, f1, f2
        addi    r2, r1, 1
        bge     r2, r20, enext
epair:
        ld.f64  f2, x[r1]           ; - m[i] * m[j] / distance
        ld.f64  f3, x[r2]
        fsub    f2, f2, f3
        fmul    f2, f2, f2
        ld.f64  f3, y[r1]
        ld.f64  f5, y[r2]
        fsub    f3, f3, f5
        fmul    f3, f3, f3
        fadd    f2, f2, f3
        ld.f64  f3, z[r1]
        ld.f64  f5, z[r2]
        fsub    f3, f3, f5
        fmul    f3, f3, f3
        fadd    f2, f2, f3
        fsqrt   f2, f2
        ld.f64  f5, m[r2]
        fmul    f5, f4, f5
        fdiv    f5, f5, f2
        fsub    f1, f1, f5
        addi    r2, r2, 1
        blt     r2, r20, epair
enext:
        addi    r1, r1, 1
        blt     r1, r20, ebody
        ret
.end

; One step of dt = 0.01: every pair pulls on both bodies, then every body
; moves. Uses r1, r2, r20, f1..f19.
.proc advance
        len     r20, x
        lif     f19, 0.01           ; dt
        li      r1, 0
abody:
        addi    r2, r1, 1
        bge     r2, r20, anext
        ld.f64  f1, x[r1]
        ld.f64  f2, y[r1]
        ld.f64  f3, z[r1]
        ld.f64  f4, m[r1]
apair:
        ld.f64  f5, x[r2]           ; d = p[i] - p[j]
        fsub    f5, f1, f5
        ld.f64  f6, y[r2]
        fsub    f6, f2, f6
        ld.f64  f7, z[r2]
        fsub    f7, f3, f7
        fmul    f8, f5, f5          ; distance
        fmul    f9, f6, f6
        fadd    f8, f8, f9
        fmul    f9, f7, f7
        fadd    f8, f8, f9
        fsqrt   f8, f8
        fmul    f9, f8, f8          ; mag = dt / distance^3
        fmul    f9, f9, f8
        fdiv    f9, f19, f9
        ld.f64  f10, m[r2]
        fmul    f11, f5, f10        ; v[i] -= d * m[j] * mag
        fmul    f11, f11, f9
        ld.f64  f12, vx[r1]
        fsub    f12, f12, f11
        st.f64  vx[r1], f12
        fmul    f11, f6, f10
        fmul    f11, f11, f9
        ld.f64  f12, vy[r1]
        fsub    f12, f12, f11
        st.f64  vy[r1], f12
        fmul    f11, f7, f10
        fmul    f11, f11, f9
        ld.f64  f12, vz[r1]
        fsub    f12, f12, f11
        st.f64  vz[r1], f12
        fmul    f11, f5, f4         ; v[j] += d * m[i] * mag
        fmul    f11, f11, f9
        ld.f64  f12, vx[r2]
        fadd    f12, f12, f11
        st.f64  vx[r2], f12
        fmul    f11, f6, f4
        fmul    f11, f11, f9
        ld.f64  f12, vy[r2]
        fadd    f12, f12, f11
        st.f64  vy[r2], f12
        fmul    f11, f7, f4
        fmul    f11, f11, f9
        ld.f64  f12, vz[r2]
        fadd    f12, f12, f11
        st.f64  vz[r2], f12
        addi    r2, r2, 1
        blt     r2, r20, apair
anext:
        addi    r1, r1, 1
        blt     r1, r20, abody
        li      r1, 0               ; p += dt * v
amove:
        ld.f64  f5, vx[r1]
        fmul    f5, f19, f5
        ld.f64  f6, x[r1]
        fadd    f6, f6, f5
        st.f64  x[r1], f6
        ld.f64  f5, vy[r1]
        fmul    f5, f19, f5
        ld.f64  f6, y[r1]
        fadd    f6, f6, f5
        st.f64  y[r1], f6
        ld.f64  f5, vz[r1]
        fmul    f5, f19, f5
        ld.f64  f6, z[r1]
        fadd    f6, f6, f5
        st.f64  z[r1], f6
        addi    r1, r1, 1
        blt     r1, r20, amove
        ret
.end
