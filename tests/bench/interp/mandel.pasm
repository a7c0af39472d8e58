; Benchmark: Mandelbrot escape counts on a 600 x 600 grid, summed.
; c = (-2 + 3*px/600, -1.5 + 3*py/600) for px, py in 0..599; z starts at 0;
; count iterations until |z|^2 > 4 or 100 iterations. Binary64 throughout,
; and the same operation order as mandel.lua and mandel.cpp:
;   x2 = zx*zx; y2 = zy*zy; if x2 + y2 > 4 stop;
;   t = zx*zy; zy = t + t + cy; zx = x2 - y2 + cx
.module mandel

.proc main
        li      r10, 600            ; grid size
        li      r11, 100            ; iteration limit
        lif     f10, 3.0
        lif     f11, 600.0
        lif     f12, -2.0
        lif     f13, -1.5
        lif     f14, 4.0
        li      r2, 0               ; sum of counts
        li      r20, 0              ; py
rows:
        itof    f2, r20
        fmul    f2, f2, f10
        fdiv    f2, f2, f11
        fadd    f2, f13, f2         ; cy = -1.5 + 3*py/600
        li      r21, 0              ; px
cols:
        itof    f1, r21
        fmul    f1, f1, f10
        fdiv    f1, f1, f11
        fadd    f1, f12, f1         ; cx = -2 + 3*px/600
        lif     f3, 0               ; zx
        lif     f4, 0               ; zy
        li      r4, 0               ; n
iter:
        fmul    f5, f3, f3          ; x2
        fmul    f6, f4, f4          ; y2
        fadd    f7, f5, f6
        flt     r5, f14, f7         ; 4 < x2 + y2: escaped
        bnz     r5, escaped
        fmul    f8, f3, f4          ; t = zx*zy
        fadd    f8, f8, f8
        fadd    f4, f8, f2          ; zy = t + t + cy
        fsub    f9, f5, f6
        fadd    f3, f9, f1          ; zx = x2 - y2 + cx
        addi    r4, r4, 1
        blt     r4, r11, iter
escaped:
        add     r2, r2, r4
        addi    r21, r21, 1
        blt     r21, r10, cols
        addi    r20, r20, 1
        blt     r20, r10, rows
        print   r2
        println
        halt
.end
