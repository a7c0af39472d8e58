; Lesson 13: matrix multiply, a kernel next to the built-in vmatmul
;
; What this shows
;   A kernel can read any element of a broadcast buffer (`f32[]`): here lane
;   gid computes one element c[row][col] of C = A * B (N x N, row-major,
;   row = gid / N, col = gid rem N) with a loop over k. The built-in vector
;   op `vmatmul` computes the same product; the program compares the two.
;   A holds small integers and B = 2 * identity, so every product and sum is
;   exact in binary32: both results and both backends agree bit for bit.
;   With arbitrary floats, a kernel's loop and vmatmul may add in different
;   orders and differ in the last bits; compare with a tolerance then.
;
; New instructions
;   loop / break / end     (kernel) a structured loop
;   lt r6, r5, r3; if r6   (kernel) signed compare and a structured if
;   div / rem              (kernel) integer division and remainder
;   vmatmul c, a, b, rK    the built-in matrix multiply (lesson 08)
;
; Try next
;   Make B a full matrix of halves and print vsub of the two results: still
;   exact? Raise N to 64 (4096 lanes) and compare `--stats` on both backends.

.module matmul

.region ma f32[] = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
.region mb f32[] = 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2
.region kc f32[16]          ; the kernel's result
.region vc f32[16]          ; vmatmul's result
.region diff f32[16]

.kernel matmul (in a: f32[], in b: f32[], out c: f32[i], n: i32)
        gid     r0
        ldp     r3, n
        div     r1, r0, r3      ; row
        rem     r2, r0, r3      ; col
        lif     f0, 0.0         ; the sum
        li      r5, 0           ; k
        loop
            lt      r6, r5, r3
            if      r6
            else
                break
            end
            mul     r7, r1, r3
            add     r7, r7, r5  ; a[row][k]
            ldf     f1, a[r7]
            mul     r8, r5, r3
            add     r8, r8, r2  ; b[k][col]
            ldf     f2, b[r8]
            ffma    f0, f1, f2, f0
            li      r9, 1
            add     r5, r5, r9
        end
        stf     c[r0], f0
.end

.proc main
        li      r3, 4           ; N
        li      r1, 16          ; lanes: N * N
        launch  matmul, r1, ma, mb, kc, r3
        vmatmul vc, ma, mb, r3
        li      r2, 0
        prints  "kernel  C = "
        printr  kc, r2, r1
        println
        prints  "vmatmul C = "
        printr  vc, r2, r1
        println
        vsub    diff, kc, vc
        vredmax f1, diff
        vredmin f2, diff
        prints  "largest difference: "
        printf  f1
        prints  " / "
        printf  f2
        println
        halt
.end
