; Lesson 08: vector ops, whole-region arithmetic
;
; What this shows
;   A vector op works on whole regions at once, like a built-in kernel: one
;   instruction, many elements. The VM hands it to a backend (the CPU now, a
;   GPU through Vulkan later), so it may run while the procedure goes on;
;   an instruction that reads a region (or register) a vector op writes
;   waits for it, so the program reads like ordinary sequential code.
;   Element-wise ops need regions of one element type and one length
;   (trap `length-mismatch` otherwise).
;
; New instructions
;   viota xs               xs[i] := i
;   vfill xs, rB           xs[i] := rB         (integer regions)
;   vfillf xs, fB          xs[i] := fB         (float regions)
;   vadd zs, xs, ys        zs[i] := xs[i] + ys[i]   (also vsub vmul vdiv vmin vmax)
;   vfma zs, xs, ys, ws    zs[i] := xs[i] * ys[i] + ws[i]
;   vscale zs, xs, fC      zs[i] := xs[i] * fC
;   vsum fA, xs            fA := the sum of xs  (vsumi rA, xs for integers)
;   vdot fA, xs, ys        fA := the sum of xs[i] * ys[i]
;   vredmax fA, xs         fA := the largest element (also vredmin)
;   vscan ys, xs           ys[i] := xs[0] + ... + xs[i] (a prefix sum)
;   vmatmul c, a, b, rK    c (M x N) := a (M x K) * b (K x N), row-major
;
; Try next
;   Compute a dot product with an ld.f64 loop and compare the instruction
;   counts with `polymer-run --stats`. Give vmatmul K = 4 (6 elements are
;   not M x 4 for any M) and read the `length-mismatch` trap.

.module vector_ops

.region xs    f64[8]
.region ys    f64[8]
.region zs    f64[8]
.region ints  i64[8]
.region sums  i64[8]
.region ma    f64[] = 1, 2, 3, 4, 5, 6        ; 2 x 3: rows [1 2 3], [4 5 6]
.region mb    f64[] = 7, 8, 9, 10, 11, 12     ; 3 x 2: rows [7 8], [9 10], [11 12]
.region mc    f64[4]                          ; 2 x 2 result

.proc main
        li      r2, 0               ; printr: from element 0 ...
        li      r3, 8               ; ... 8 elements

        viota   xs
        prints  "xs             = "
        printr  xs, r2, r3
        println
        lif     f1, 0.5
        vfillf  ys, f1
        prints  "ys             = "
        printr  ys, r2, r3
        println
        vadd    zs, xs, ys
        prints  "xs + ys        = "
        printr  zs, r2, r3
        println
        vfma    zs, xs, xs, ys      ; x*x + 0.5
        prints  "xs * xs + ys   = "
        printr  zs, r2, r3
        println
        lif     f1, 2
        vscale  zs, zs, f1          ; the destination may also be a source
        prints  "2 * that       = "
        printr  zs, r2, r3
        println
        vsum    f2, zs
        prints  "sum            = "
        printf  f2
        println
        vredmax f2, zs
        prints  "max            = "
        printf  f2
        println
        vdot    f2, xs, xs
        prints  "xs . xs        = "
        printf  f2
        println

        ; Integer regions: prefix sums.
        viota   ints
        vscan   sums, ints
        prints  "scan(0..7)     = "
        printr  sums, r2, r3
        println
        vsumi   r4, ints
        prints  "sum(0..7)      = "
        print   r4
        println
        li      r1, 3
        vfill   ints, r1
        vscan   sums, ints
        prints  "scan(3,3,...)  = "
        printr  sums, r2, r3
        println

        ; A 2x3 by 3x2 matrix product: K = 3, the shared dimension.
        li      r1, 3
        vmatmul mc, ma, mb, r1
        li      r3, 4
        prints  "ma * mb        = "
        printr  mc, r2, r3
        println
        halt
.end
