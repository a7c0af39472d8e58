; A Mandelbrot picture as a user writes it: a scalar loop over the pixels
; with the escape loop inside, in binary64 as every procedure computes.
; The pixel loop becomes a kernel (its inner loop a loop in the kernel);
; the escape loop alone could not (x and y pass from one step to the next).
; 768 x 640 pixels, c = (-2 + px/256, -1.25 + py/256), at most 256 steps.
.module mandel

.equ W, 768                         ; smoke: 64
.equ PIXELS, 491520                 ; smoke: 3072
.equ MAXIT, 256

.region counts i32[PIXELS]

.proc main
        li      r2, PIXELS
        li      r9, W
        li      r6, MAXIT
        lif     f11, 0.00390625     ; 1/256, the step between pixels
        lif     f12, -2.0
        lif     f13, -1.25
        lif     f14, 4.0
        li      r1, 0               ; the pixel
pixels: bge     r1, r2, done
        rem     r3, r1, r9          ; px
        div     r4, r1, r9          ; py
        itof    f1, r3
        fmul    f1, f1, f11
        fadd    f1, f1, f12         ; cx
        itof    f2, r4
        fmul    f2, f2, f11
        fadd    f2, f2, f13         ; cy
        lif     f3, 0.0             ; x
        lif     f4, 0.0             ; y
        li      r5, 0               ; steps
steps:  bge     r5, r6, escaped
        fmul    f5, f3, f3
        fmul    f6, f4, f4
        fadd    f7, f5, f6
        flt     r7, f14, f7
        bnz     r7, escaped         ; |z|^2 > 4
        fmul    f8, f3, f4
        fadd    f8, f8, f8
        fadd    f4, f8, f2          ; y := 2xy + cy
        fsub    f3, f5, f6
        fadd    f3, f3, f1          ; x := x^2 - y^2 + cx
        addi    r5, r5, 1
        jmp     steps
escaped: st.i32 counts[r1], r5
        addi    r1, r1, 1
        jmp     pixels
done:   vsumi   r8, counts
        print   r8
        prints  " "
        li      r3, 0
        li      r4, 8
        printr  counts, r3, r4
        println
        halt
.end
