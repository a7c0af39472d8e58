; The stencil benchmark's program (docs/benchmarks.md, "Stencil"): 50 Jacobi
; steps on a 4096 x 4096 f32 grid (row-major: element row*W + col), two
; regions ping-ponged, the boundary fixed, every interior element
; y = 0.25 * ((x[i-1] + x[i+1]) + (x[i-W] + x[i+W])); then the home reads the
; sum and a few elements. Written plainly, one launch per step.
.module jacobi-bench

.equ W, 4096            ; the grid's side
.equ LOG2W, 12
.equ LAST, 4095         ; W - 1: the last row and column
.equ N, 16777216        ; W * W elements: 64 MiB a region

.region a f32[N]
.region b f32[N]

; The initial grid, in both regions (the boundary is never written again):
; the top edge 1, the other edges 0, the interior ((row + 2 col) mod 8) / 8,
; so every element of the grid counts in the sum.
.kernel init (out a: f32[i], out b: f32[i])
        gid     r0
        shri    r1, r0, LOG2W   ; row
        andi    r2, r0, LAST    ; col
        add     r3, r1, r2
        add     r3, r3, r2
        andi    r3, r3, 7
        itof    f0, r3
        lif     f1, 0.125
        fmul    f0, f0, f1      ; ((row + 2 col) mod 8) / 8
        li      r4, 0
        li      r5, LAST
        eq      r6, r2, r4
        eq      r7, r2, r5
        or      r6, r6, r7
        eq      r7, r1, r5
        or      r6, r6, r7
        if      r6              ; left, right or bottom edge
            lif     f0, 0.0
        end
        eq      r7, r1, r4
        if      r7              ; top edge
            lif     f0, 1.0
        end
        stf     a[r0], f0
        stf     b[r0], f0
.end

; One Jacobi step, y := step(x). x is read at the lane's element and its four
; neighbours, through a window of a row each way: a cluster sends each chunk
; its rows and one row of halo on each side (jacobi_bench also runs a copy
; with a whole-buffer input, `in x: f32[]`, for comparison). Written
; with if/else: the same step with the boundary lanes ending in `exit` gave
; 0 in whole 512-lane blocks on the CPU backend (2026-12-06, reported).
.kernel step (in x: f32[i-W..i+W], out y: f32[i])
        gid     r0
        shri    r1, r0, LOG2W   ; row
        andi    r2, r0, LAST    ; col
        li      r3, 0
        li      r4, LAST
        eq      r5, r1, r3
        eq      r6, r1, r4
        or      r5, r5, r6
        eq      r6, r2, r3
        or      r5, r5, r6
        eq      r6, r2, r4
        or      r5, r5, r6
        if      r5              ; the boundary stays as it is
            ldf     f0, x[r0]
        else
            addi    r7, r0, -1
            ldf     f0, x[r7]   ; left
            addi    r7, r0, 1
            ldf     f1, x[r7]   ; right
            addi    r7, r0, -W
            ldf     f2, x[r7]   ; up
            addi    r7, r0, W
            ldf     f3, x[r7]   ; down
            fadd    f0, f0, f1
            fadd    f2, f2, f3
            fadd    f0, f0, f2
            lif     f4, 0.25
            fmul    f0, f0, f4
        end
        stf     y[r0], f0
.end

.proc main
        li      r9, N           ; lanes
        launch  init, r9, a, b
        li      r10, 0
        li      r11, 25         ; 25 pairs of steps: 50 iterations (jacobi_bench changes this line)
again:
        bge     r10, r11, done  ; tested first, so 0 pairs runs no step
        launch  step, r9, a, b  ; b := step(a)
        launch  step, r9, b, a  ; a := step(b)
        addi    r10, r10, 1
        jmp     again
done:

        vsum    f1, a           ; binary64
        prints  "sum of a = "
        printf  f1
        println
        li      r5, 4
        li      r4, 6142        ; row 1, cols 2046..2049: by the hot edge
        prints  "a[6142..] = "
        printr  a, r4, r5
        println
        li      r4, 5593086     ; row 1365, cols 2046..2049: a block boundary of 3 row blocks
        prints  "a[5593086..] = "
        printr  a, r4, r5
        println
        li      r4, 16773116    ; row 4094, cols 4092..4095: the far corner
        prints  "a[16773116..] = "
        printr  a, r4, r5
        println
        halt
.end
