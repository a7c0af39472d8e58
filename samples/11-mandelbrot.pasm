; Lesson 11: the Mandelbrot set, a kernel with a loop
;
; What this shows
;   Each lane iterates z := z*z + c for its own point c until |z| > 2 or
;   the iteration limit, so lanes run different numbers of iterations: a
;   kernel `loop` with `break`. The image is 48 x 20 points, x in
;   [-2, 0.9375] step 0.0625, y in [-1.1875, 1.1875] step 0.125 (steps that
;   are exact in binary32). The kernel writes each point's iteration count
;   and, for the picture, a character code ('#' never escaped, '+' late,
;   '.' early, ' ' at once); main prints them with printc, one row per line,
;   and a checksum: the sum of all iteration counts.
;   Why ASCII and not an image file: the ISA has no file output (isa/
;   opcodes.def has only print/printu/printf/printc/prints/printr/println to
;   standard output). To get a PGM image, print the header "P2 48 20 30"
;   and then each count with `print` instead of the characters, redirect
;   standard output to a .pgm file, and open it with any image viewer.
;   The kernel uses separate fmul/fadd/fsub (no ffma) so that every backend
;   computes the same binary32 values; the output is identical on both
;   backends (a fused multiply-add rounds once and could move a point that
;   sits on the escape boundary).
;
; New instructions
;   itof f1, r1            (kernel) F[A] := (float) R[B]
;   flt r1, f1, f2         (kernel) R[A] := F[B] < F[C]
;   loop / break / end     (kernel) a loop that each lane leaves on its own
;   printc r1              write the byte r1
;
; Try next
;   Raise the iteration limit (r4) from 30 to 200 and watch the checksum
;   grow and the border sharpen. Print a PGM file as described above.

.module mandelbrot

.region counts i32[960]     ; 48 x 20
.region chars  i32[960]

.kernel mandelbrot (out it: i32[i], out ch: i32[i], w: i32, maxit: i32)
        gid     r0
        ldp     r1, w
        ldp     r2, maxit
        rem     r3, r0, r1          ; px
        div     r4, r0, r1          ; py
        itof    f0, r3
        lif     f9, 0.0625
        fmul    f0, f0, f9
        lif     f9, -2.0
        fadd    f0, f0, f9          ; cx = -2 + px / 16
        itof    f1, r4
        lif     f9, 0.125
        fmul    f1, f1, f9
        lif     f9, -1.1875
        fadd    f1, f1, f9          ; cy = -1.1875 + py / 8
        lif     f2, 0.0             ; x
        lif     f3, 0.0             ; y
        lif     f8, 4.0
        lif     f7, 2.0
        li      r5, 0               ; iterations
        li      r9, 1
        loop
            lt      r6, r5, r2
            if      r6
            else
                break               ; the limit: in the set
            end
            fmul    f4, f2, f2      ; x*x
            fmul    f5, f3, f3      ; y*y
            fadd    f6, f4, f5
            flt     r6, f8, f6
            if      r6
                break               ; |z|^2 > 4: escaped
            end
            fmul    f6, f2, f3
            fmul    f6, f6, f7
            fadd    f3, f6, f1      ; y = 2xy + cy
            fsub    f6, f4, f5
            fadd    f2, f6, f0      ; x = x*x - y*y + cx
            add     r5, r5, r9
        end
        st      it[r0], r5
        li      r7, 35              ; '#'
        lt      r6, r5, r2
        if      r6
            li      r7, 43          ; '+'
            li      r8, 8
            lt      r6, r5, r8
            if      r6
                li      r7, 46      ; '.'
            end
            li      r8, 2
            lt      r6, r5, r8
            if      r6
                li      r7, 32      ; ' '
            end
        end
        st      ch[r0], r7
.end

.proc main
        li      r1, 48              ; width
        li      r2, 960             ; lanes: 48 * 20
        li      r4, 30              ; iteration limit
        launch  mandelbrot, r2, counts, chars, r1, r4
        li      r5, 0               ; index
        li      r6, 0               ; column
next:
        bge     r5, r2, done
        ld.i32  r7, chars[r5]
        printc  r7
        addi    r5, r5, 1
        addi    r6, r6, 1
        blt     r6, r1, next
        println
        li      r6, 0
        jmp     next
done:
        vsumi   r8, counts
        prints  "checksum (sum of iteration counts) = "
        print   r8
        println
        halt
.end
