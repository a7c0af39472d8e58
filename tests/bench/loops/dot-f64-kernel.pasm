; dot-f64.pasm's work as a hand-written kernel: a wide kernel (binary64
; lanes and buffers) sums 4096 products per lane; main adds the partials
; in a scalar loop (no `.reassociate` here: it stays scalar).
.module dot_f64_kernel

.equ N, 33554432                    ; smoke: 5000
.equ CHUNK, 4096
.equ LANES, 8192                    ; smoke: 2

.region xs f64[N] range 0, 1
.region ys f64[N] fill 0.5
.region partials f64[LANES]

.kernel dot (in x: f64[], in y: f64[], out part: f64[i], n: i64, chunk: i64)
        .wide
        gid     r0
        ldp     r1, n
        ldp     r2, chunk
        mul     r3, r0, r2          ; i = lane * chunk
        add     r4, r3, r2
        min     r4, r4, r1          ; end = min(i + chunk, n)
        lif     f5, 0.0
        loop
            lt      r6, r3, r4
            if      r6
            else
                break
            end
            ldf     f1, x[r3]
            ldf     f2, y[r3]
            fmul    f1, f1, f2
            fadd    f5, f5, f1
            addi    r3, r3, 1
        end
        stf     part[r0], f5
.end

.proc main
        li      r1, N
        li      r2, CHUNK
        li      r9, LANES
        launch  dot, r9, xs, ys, partials, r1, r2
        lif     f3, 0.0
        li      r1, 0
sum:    bge     r1, r9, done
        ld.f64  f4, partials[r1]
        fadd    f3, f3, f4
        addi    r1, r1, 1
        jmp     sum
done:   printf  f3
        println
        halt
.end
