; Lesson 22: loops become kernels
;
; What this shows
;   You write a plain scalar loop over a region, as in lesson 3; the
;   assembler finds the loops whose iterations do not depend on each other
;   and makes a kernel of each, which runs on the backend (the CPU pool,
;   Vulkan, the cluster) like the kernel you wrote in lesson 10. Ask it what
;   it did:
;     build/bin/polymer-as --report-loops samples/22-loop-kernels.pasm
;   prints one line per loop (on stderr), as a compiler's vectorizer report:
;     ...22-loop-kernels.pasm:72: loop turned into kernel main.loop72 (one lane per iteration)
;     ...22-loop-kernels.pasm:85: loop turned into kernel main.loop85 (one lane per iteration; reduction r3 add)
;     ...22-loop-kernels.pasm:97: not turned into a kernel: r5 carries a value between iterations
;   The first loop, y := a*x + y, is the textbook case: iteration i reads
;   xs[i] and ys[i] and writes ys[i], nothing else. The second adds into r3:
;   a reduction, so each lane (one iteration) leaves its square in a
;   buffer and kloop adds them to r3 in iteration order, as the scalar loop
;   does (on the CPU backend, which adds up each group of 512 lanes itself,
;   kloop adds the groups' sums: integer adds give the same result in any
;   order). The third is a running sum: r5 after iteration i is
;   needed by iteration i + 1, so it stays a scalar loop.
;
;   The module keeps the scalar loop. The assembler puts one word before it,
;   `kloop N` (see `polymer-as --listing`, or `polymer-dis`, which also shows
;   the generated kernel `main.loop72`). When kloop runs, it counts the
;   iterations the loop will do; when there are enough to be worth a launch
;   (1024 besides the last), it runs the kernel for every iteration BUT THE
;   LAST, sets the induction register (and r3) to what the scalar loop would
;   have there, and lets the scalar loop run the last iteration itself. So
;   every register the loop leaves behind, temporaries too, is what the
;   scalar loop leaves (the line "after the loop" below), and the loop's own
;   test ends it.
;
;   Results are identical, not just close: the kernel computes with 64-bit
;   integers and binary64 floats and stores an f32 with the same rounding,
;   exactly as the procedure's own instructions do (a float sum that would
;   have to be added in another order, e.g. fmin or two fadds an iteration,
;   is left scalar unless the procedure says `.reassociate`). Traps are exact too: before launching, kloop
;   checks the indices of the first and the last iteration and the divisors;
;   if the loop could trap, the kernel does not run and the scalar loop traps
;   at the same iteration, pc and line, with the same registers and regions.
;
;   `polymer-run --no-loop-kernels` runs every loop as written (kloop does
;   nothing); `polymer-as --no-loop-kernels` makes no kernels and no kloop.
;   The output below is the same either way, in every execution mode, on
;   every backend.
;
; New words
;   polymer-as --report-loops      which loops became kernels, and why not
;   polymer-run --no-loop-kernels  run the scalar loops
;   polymer-run --stats            a line counts the loops run as kernels
;   kloop N                        (written by the assembler, never by you)
;
; Try next
;   Run with `--stats`, then with `--stats --no-loop-kernels`, and compare
;   the time and the "loop kernels:" line. Make N 100000 to see the speed-up
;   grow. Change `li r2, N` to `li r2, 4097` in the first loop: it traps
;   `out-of-bounds` at xs[4096], with and without loop kernels alike. Add
;   `print r1` inside the first loop: the report says why it stays scalar.

.module loop-kernels

.equ N, 4096

.region xs f32[N] range 0, 0.25     ; 0, 0.25, 0.5, ...
.region ys f32[N] fill 1.0
.region ns i64[N] range 1, 1        ; 1, 2, ..., N

.proc main
        ; y := a*x + y over every element: one lane per iteration.
        lif     f1, 3.0             ; a
        li      r1, 0               ; i
        li      r2, N               ; the bound
saxpy:  bge     r1, r2, saxpy_done
        ld.f32  f2, xs[r1]
        ld.f32  f3, ys[r1]
        fmul    f2, f2, f1
        fadd    f3, f3, f2          ; a*x + y in binary64, rounded to f32 by the store
        st.f32  ys[r1], f3
        addi    r1, r1, 1
        jmp     saxpy
saxpy_done:

        ; The sum of the squares 1^2 + 2^2 + ... + N^2: a reduction into r3.
        li      r3, 0
        li      r1, 0
squares: bge    r1, r2, squares_done
        ld.i64  r4, ns[r1]
        mul     r4, r4, r4
        add     r3, r3, r4
        addi    r1, r1, 1
        jmp     squares
squares_done:

        ; A running sum written back: ns[i] := ns[0] + ... + ns[i]. Iteration
        ; i needs r5 from iteration i - 1, so this loop stays scalar.
        li      r5, 0
        li      r1, 0
running: bge    r1, r2, running_done
        ld.i64  r6, ns[r1]
        add     r5, r5, r6
        st.i64  ns[r1], r5
        addi    r1, r1, 1
        jmp     running
running_done:

        prints  "ys[0..4]   = "
        li      r7, 0
        li      r8, 4
        printr  ys, r7, r8
        println
        prints  "ys[4092..] = "
        li      r7, 4092
        printr  ys, r7, r8
        println
        prints  "sum of squares 1..4096 = "
        print   r3
        println
        prints  "ns[4095] = 1 + 2 + ... + 4096 = "
        li      r7, 4095
        ld.i64  r6, ns[r7]
        print   r6
        println
        prints  "after the loop: r1 = "
        print   r1
        prints  ", r4 = "
        print   r4                  ; 4096^2: the squares loop's last iteration
        prints  ", f3 = "
        printf  f3                  ; 3 * 1023.75 + 1: the first loop's last y
        println
        halt
.end
