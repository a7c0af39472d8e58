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
;   The output is itself an image file: a plain PGM ("P2": width, height,
;   the largest value, then one grey level per pixel, as decimal text).
;   Lines that start with '#' are comments in PGM, so the ASCII picture and
;   the checksum ride along in the header. Save it and open it in any image
;   viewer (GIMP, eog, feh, display, a browser extension for PGM):
;     build/bin/polymer-run samples/11-mandelbrot.pasm > mandelbrot.pgm
;   Each pixel is its point's iteration count (0..30): points in the set
;   are white, points that escape at once black.
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
;   grow and the border sharpen (the PGM's largest value follows r4).
;   Make the image bigger: width, lanes and the kernel's step sizes.

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
        li      r3, 20              ; height
        li      r4, 30              ; iteration limit
        launch  mandelbrot, r2, counts, chars, r1, r4
        prints  "P2\n"              ; plain PGM; '#' lines are comments
        li      r5, 0               ; index
        li      r6, 0               ; column
        li      r9, 35              ; '#'
        li      r10, 32             ; ' '
        li      r11, 0
art:
        bge     r5, r2, header
        bne     r6, r11, art_pixel
        printc  r9                  ; each picture row is a PGM comment
        printc  r10
art_pixel:
        ld.i32  r7, chars[r5]
        printc  r7
        addi    r5, r5, 1
        addi    r6, r6, 1
        blt     r6, r1, art
        println
        li      r6, 0
        jmp     art
header:
        vsumi   r8, counts
        prints  "# checksum (sum of iteration counts) = "
        print   r8
        println
        print   r1                  ; width height maxval
        printc  r10
        print   r3
        printc  r10
        print   r4
        println
        li      r5, 0
        li      r6, 0
pixels:
        bge     r5, r2, done
        ld.i32  r7, counts[r5]
        print   r7
        addi    r5, r5, 1
        addi    r6, r6, 1
        bge     r6, r1, end_row
        printc  r10
        jmp     pixels
end_row:
        println
        li      r6, 0
        jmp     pixels
done:
        halt
.end
