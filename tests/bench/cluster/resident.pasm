; The resident-data benchmark's program (docs/benchmarks.md, "Resident data"):
; 50 launches of y := a*x + y over 4M i32 elements (two 16 MiB regions),
; written plainly, one launch per iteration; then the home reads y.
.module resident-bench

.region x i32[4194304]
.region y i32[4194304]

.kernel start (out x: i32[i], out y: i32[i])
        gid     r0
        st      x[r0], r0       ; x[i] = i
        li      r1, 1
        st      y[r0], r1       ; y[i] = 1
.end

.kernel axpy (in x: i32[i], inout y: i32[i], a: i32)
        gid     r0
        ld      r1, x[r0]
        ld      r2, y[r0]
        ldp     r3, a
        mul     r1, r1, r3
        add     r2, r2, r1
        st      y[r0], r2       ; y[i] += a * x[i]
.end

.proc main
        li      r9, 4194304     ; lanes
        launch  start, r9, x, y
        li      r3, 3           ; a
        li      r10, 0
        li      r11, 50
again:
        launch  axpy, r9, x, y, r3
        addi    r10, r10, 1
        blt     r10, r11, again

        ; y[i] = 1 + 150 i: the sum is N + 75 N (N - 1)
        vsumi   r6, y
        prints  "sum of y = "
        print   r6
        println
        li      r4, 4194300
        li      r5, 4
        prints  "y[4194300..] = "
        printr  y, r4, r5
        println
        halt
.end
