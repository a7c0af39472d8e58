; Lesson 17: region handles, procedures over any region
;
; What this shows
;   A region operand usually names one region of the module (`xs`). To
;   write a procedure that works on whatever region its caller chooses, pass
;   a *handle*: `rgn r1, xs` puts the handle of xs in r1, and the operand
;   `@r1` then means "the region whose handle r1 holds", anywhere a region
;   can be written: `ld.f64 f1, @r1[r2]`, `st`, `len`, `printr`, every vector
;   op, `alloc`/`free`, and a buffer argument of `launch`.
;   A handle is checked when it is used: an integer that is not a handle, or
;   the handle of a region of the wrong type (an i32 region for ld.f64),
;   traps `bad-handle`, naming the register, its value and what was expected.
;   Where a `rgn` earlier in the same basic block makes the region known,
;   the assembler checks its type as it checks a region's name.
;   The reorder engine finds a handle's region when the instruction issues,
;   so `--exec ooo` still overlaps long ops on different regions.
;
; New instructions
;   rgn rA, xs             rA := the handle of region xs
;   @rN                    (operand) the region whose handle is in rN
;
; Try next
;   Call `dot` with r2 holding the handle of `counts` (an i64 region) and
;   read the `bad-handle` trap; then with `li r2, 3` (not a handle at all).
;   Write `ld.f64 f1, @r1[r2]` right after `rgn r1, counts` and see the
;   assembler refuse it (in this file, not the library's). Run with
;   `--exec ooo --stats` and compare with
;   `--exec in-order`: the same output.

.module region_handles

.region xs     f64[] = 1, 2, 3, 4
.region ys     f64[] = 0.5, 0.25, 2, 1
.region counts i64[] = 3, 1, 4, 1, 5
.region pixels f32[] = 1, 2, 3, 4, 5, 6

; print_region and dot come from the library (samples/lib/regions.pasm):
; procedures over any region, written once, used by any program.
.include "lib/regions.pasm"

; Every lane multiplies its element by s.
.kernel scale (inout x: f32[i], s: f32)
        gid     r0
        ldf     f0, x[r0]
        ldpf    f1, s
        fmul    f0, f0, f1
        stf     x[r0], f0
.end

.proc main
        prints  "xs = "
        rgn     r1, xs
        call    print_region
        prints  "ys = "
        rgn     r1, ys
        call    print_region
        prints  "counts = "
        rgn     r1, counts          ; any element type: printr prints them all
        call    print_region

        rgn     r1, xs
        rgn     r2, ys
        call    dot
        prints  "xs . ys = "
        printf  f1
        println
        rgn     r1, xs
        rgn     r2, xs
        call    dot
        prints  "xs . xs = "
        printf  f1
        println
        rgn     r1, xs              ; the same through the built-in vector op
        rgn     r2, ys
        vdot    f2, @r1, @r2
        prints  "vdot    = "
        printf  f2
        println

        rgn     r1, pixels
        lif     f1, 2.5
        call    scale_all
        prints  "pixels * 2.5 = "
        rgn     r1, pixels
        call    print_region
        halt
.end

; scale_all: multiplies every element of an f32 region by f1, on a backend.
;   in:       r1 = the handle of an f32 region, f1 = the factor
;   clobbers: r8
.proc scale_all
        len     r8, @r1
        launch  scale, r8, @r1, f1  ; the buffer argument comes from the handle
        ret
.end
