; Lesson 16: one kernel spread over a cluster
;
; What this shows
;   The Mandelbrot kernel of lesson 11 on a larger picture (96 x 40 points,
;   200 iterations), run with `polymer-run --local-nodes 3`: polymer-run
;   starts three polymer-node workers on 127.0.0.1 with a fresh random
;   token, cuts the launch over [0, 3840) into chunks, and the workers and
;   this machine each run some of them. `it` and `ch` are element-wise
;   outputs (`i32[i]`), so each chunk returns only its own slice and the
;   home stitches them in place. The output is the same with no nodes, one,
;   two or three, and on every backend: chunks change where lanes run, never
;   what they compute (separate fmul/fadd as in lesson 11, no ffma).
;   Add --stats to see the chunks, kernel time and bytes per node, and
;   --no-local-work to leave the home out. To use other machines, start
;   `polymer-node --listen 0.0.0.0:7447 --token-file FILE` on each and run
;   with `--nodes host1:7447,host2:7447 --token-file FILE` (docs/cluster.md).
;
; New instructions
;   none: the cluster is an option of polymer-run, not of the program.
;
; Try next
;   Run it with --local-nodes 3 --stats --chunk-lanes 64 and watch how the
;   chunks spread; kill one polymer-node (kill -9) during a long run: its
;   chunks run elsewhere and the picture is the same.
;   Add --trace t.json and open it in https://ui.perfetto.dev: tracks per
;   node (and the home), one slice per chunk it ran; chunks in flight to
;   one node at once lie on its rows 2, 3, ... (docs/cluster.md).

.module cluster_mandelbrot

.region counts i32[3840]    ; 96 x 40
.region chars  i32[3840]

.kernel mandelbrot (out it: i32[i], out ch: i32[i], w: i32, maxit: i32)
        gid     r0
        ldp     r1, w
        ldp     r2, maxit
        rem     r3, r0, r1          ; px
        div     r4, r0, r1          ; py
        itof    f0, r3
        lif     f9, 0.03125
        fmul    f0, f0, f9
        lif     f9, -2.0
        fadd    f0, f0, f9          ; cx = -2 + px / 32
        itof    f1, r4
        lif     f9, 0.0625
        fmul    f1, f1, f9
        lif     f9, -1.21875
        fadd    f1, f1, f9          ; cy = -1.21875 + py / 16
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
        li      r1, 96              ; width
        li      r2, 3840            ; lanes: 96 * 40
        li      r4, 200             ; iteration limit
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
