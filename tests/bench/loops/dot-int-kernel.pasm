; dot-int.pasm's work as a hand-written kernel: each lane sums 4096
; products into a 64-bit partial (a wide kernel: 64-bit lane registers and
; an i64 buffer), then main adds the partials.
.module dot_int_kernel

.equ N, 33554432                    ; smoke: 5000
.equ CHUNK, 4096
.equ LANES, 8192                    ; smoke: 2

.region xs i32[N] range 0, 1
.region ys i32[N] range 7, 3
.region partials i64[LANES]

.kernel dot (in x: i32[], in y: i32[], out part: i64[i], n: i64, chunk: i64)
        .wide
        gid     r0
        ldp     r1, n
        ldp     r2, chunk
        mul     r3, r0, r2          ; i = lane * chunk
        add     r4, r3, r2
        min     r4, r4, r1          ; end = min(i + chunk, n)
        li      r5, 0
        loop
            lt      r6, r3, r4
            if      r6
            else
                break
            end
            ld      r7, x[r3]
            ld      r8, y[r3]
            mul     r7, r7, r8
            add     r5, r5, r7
            addi    r3, r3, 1
        end
        st      part[r0], r5
.end

.proc main
        li      r1, N
        li      r2, CHUNK
        li      r9, LANES
        launch  dot, r9, xs, ys, partials, r1, r2
        vsumi   r3, partials
        print   r3
        println
        halt
.end
