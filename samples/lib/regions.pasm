; samples/lib/regions.pasm: procedures over any region, through handles
; (`rgn r1, xs` passes region xs; see lesson 17).
;
;   .include "lib/regions.pasm"    (from a file in samples/; or -I samples)
;
; Calling convention (docs/language.md): arguments in r1, r2 (handles) and
; f1; the result in r1 or f1; r0, r8..r15 and f8..f15 may be overwritten;
; r16..r31 are preserved.

; print_region: writes a region's elements as `[a, b, c]` and a newline.
;   in:       r1 = the handle of any region
;   clobbers: r8, r9
.proc print_region
        li      r8, 0
        len     r9, @r1
        printr  @r1, r8, r9
        println
        ret
.end

; dot: f1 := the sum of a[i] * b[i], an ld.f64 loop.
;   in:       r1 = the handle of an f64 region a, r2 = the handle of an f64
;             region b at least as long as a
;   out:      f1
;   clobbers: r8, r9, f8, f9
.proc dot
        lif     f1, 0
        len     r9, @r1
        li      r8, 0
dot_loop:
        bge     r8, r9, dot_done
        ld.f64  f8, @r1[r8]         ; traps bad-handle unless r1 holds an f64 region's handle
        ld.f64  f9, @r2[r8]
        fmul    f8, f8, f9
        fadd    f1, f1, f8
        addi    r8, r8, 1
        jmp     dot_loop
dot_done:
        ret
.end

