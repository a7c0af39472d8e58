; Lesson 14: the step debugger, watching a program one instruction at a time
;
; What this shows
;   `polymer-run --debug PROGRAM` stops before the first instruction and
;   reads commands (gdb's names: docs/debugger.md has them all). This
;   program bubble-sorts six numbers; the session below follows one swap.
;   At a terminal you get line editing, history (Up arrow) and Tab
;   completion; from a file (--batch) or a pipe the same commands run
;   without a prompt, which is how CI replays this lesson:
;     polymer-run --batch samples/14-debugging.gdb samples/14-debugging.pasm
;   and compares what it prints with samples/14-debugging.transcript.
;
; A session, step by step (the .gdb file is exactly this)
;   list                 the source around the pc, `=>` marks the next line
;   break swap           stop whenever `swap` is called
;   continue             run to it: the first pair out of order is 5, 3
;   bt                   who called swap, and from where
;   print r1             swap's argument: the index i
;   x data               the region with its type, eight elements a row
;   watch data[0]        stop after any instruction that changes data[0]
;   continue             ... the `st.i32` in swap writes 3 there
;   backstep             undo it: data[0] is 5 again (registers, regions,
;                        stacks and pc come back; output already printed
;                        stays printed, and the debugger says so)
;   step                 redo it, one instruction
;   info frames          the frames of this basic block, from the module:
;                        which instructions could run side by side
;   finish               run until swap returns to main
;   delete               drop the breakpoint and the watchpoint
;   until r21 == 3       run until the third swap of the first pass
;   info registers r1 r21
;   continue             to the end: the sorted numbers are printed
;
; A second session: the reorder buffer (samples/14-debugging-ooo.gdb)
;     polymer-run --exec ooo --batch samples/14-debugging-ooo.gdb samples/14-debugging.pasm
;   step 2               each cycle's issues and commits: four instructions
;                        issue in cycle 1, two commit in cycle 2
;   info rob             the entries in flight, oldest first, with their state
;   break swap           stops before its instruction commits (as in order)
;   continue
;   info rob             the ROB has run ahead to swap's `ret`: those entries
;                        are done but not yet committed
;   step                 one more commit, and main's loop issues again
;   print r1             the committed r1 (the debugger says so once)
;   (docs/debugger.md, "Out-of-order sessions"; with --local-nodes N,
;   `info nodes` shows the cluster's nodes and what each has run.)
;
; Try next
;   `set data[5] = 0` before the sort finishes, then `continue`.
;   `backstep 20` after the program halted (also under --exec ooo).
;   Break on a source line (`break 62`) or a pc (`break *12`).

.module debugging

.region data  i32[] = 5, 3, 8, 1, 9, 2

; swap(i): exchanges data[i] and data[i+1]. r1 = i
.proc swap
        ld.i32  r8, data[r1]
        addi    r9, r1, 1
        ld.i32  r10, data[r9]
        st.i32  data[r1], r10
        st.i32  data[r9], r8
        ret
.end

.proc main
        len     r20, data           ; n
        li      r0, 0
        printr  data, r0, r20
        println
outer:                              ; passes until one makes no swap
        li      r21, 0              ; swaps in this pass
        li      r1, 0               ; i
        addi    r22, r20, -1        ; the last i to compare
inner:
        bge     r1, r22, pass_done
        ld.i32  r2, data[r1]
        addi    r3, r1, 1
        ld.i32  r3, data[r3]
        lt      r4, r3, r2          ; data[i+1] < data[i]: out of order
        bz      r4, in_order
        call    swap
        addi    r21, r21, 1
in_order:
        addi    r1, r1, 1
        jmp     inner
pass_done:
        bnz     r21, outer
        printr  data, r0, r20
        println
        halt
.end
