; mandel.pasm's work as a hand-written kernel: one lane per pixel. It is a
; wide kernel: binary64 lanes, so every pixel escapes at the step the
; scalar loop finds (binary32 would move the pixels on the border).
.module mandel_kernel

.equ W, 768                         ; smoke: 64
.equ PIXELS, 491520                 ; smoke: 3072
.equ MAXIT, 256

.region counts i32[PIXELS]

.kernel mandel (out it: i32[i], w: i64, maxit: i64)
        .wide
        gid     r0
        ldp     r9, w
        ldp     r6, maxit
        rem     r3, r0, r9          ; px
        div     r4, r0, r9          ; py
        lif     f11, 0.00390625
        lif     f12, -2.0
        lif     f13, -1.25
        lif     f14, 4.0
        itof    f1, r3
        fmul    f1, f1, f11
        fadd    f1, f1, f12         ; cx
        itof    f2, r4
        fmul    f2, f2, f11
        fadd    f2, f2, f13         ; cy
        lif     f3, 0.0
        lif     f4, 0.0
        li      r5, 0
        loop
            lt      r7, r5, r6
            if      r7
            else
                break
            end
            fmul    f5, f3, f3
            fmul    f6, f4, f4
            fadd    f7, f5, f6
            flt     r7, f14, f7
            if      r7
                break
            end
            fmul    f8, f3, f4
            fadd    f8, f8, f8
            fadd    f4, f8, f2
            fsub    f3, f5, f6
            fadd    f3, f3, f1
            addi    r5, r5, 1
        end
        st      it[r0], r5
.end

.proc main
        li      r2, PIXELS
        li      r9, W
        li      r6, MAXIT
        launch  mandel, r2, counts, r9, r6
        vsumi   r8, counts
        print   r8
        prints  " "
        li      r3, 0
        li      r4, 8
        printr  counts, r3, r4
        println
        halt
.end
