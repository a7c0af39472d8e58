; Lesson 25: two procedures that talk: spawn, send, recv, join
;
; What this shows
;   `spawn` starts a procedure that runs on its own: it gets a copy of the
;   spawner's registers, stacks of its own and its own pc, and it shares the
;   module's regions. Here two procedures play ping-pong over two channels:
;   main sends a number on `pings`, the ponger answers with its square on
;   `pongs`. A `recv` on an empty channel waits until a message is there; a
;   `send` to a full channel waits for room. These channels hold one message
;   each, so every round each side waits for the other.
;   When main sends 0 the ponger returns, and `join` waits for it to end and
;   takes its r1 and f1: here, how many pings it answered.
;   On one machine the procedures take turns on the home; the output is the
;   same in every execution mode (--exec in-order|frames|ooo|spec), because
;   what each procedure sees depends only on the messages, not on the order
;   the scheduler picked.
;
; New instructions and directives
;   .channel NAME CAPACITY   a channel holding up to CAPACITY messages
;   spawn rH, proc, rWhere   start `proc`; rWhere -1 = anywhere, 0 = the home
;   send ch, rV              put rV on channel ch (waits while it is full)
;   recv rV, ch              take the oldest message (waits while it is empty)
;   join rA, fB, rH          wait for procedure rH; rA, fB := its r1, f1
;
; Try next
;   polymer-run --stats samples/25-ping-pong.pasm: the messages per channel
;   and per procedure. polymer-run --exec ooo --trace t.json ..., then open
;   t.json in ui.perfetto.dev: a track per procedure, each message an arrow
;   from its send to its recv.
;   Delete the `send pings, r0` below: main then waits in `join` while the
;   ponger waits in `recv`, and the run stops with a `deadlock` trap that
;   says where each procedure is and what it waits for.

.module ping-pong

.channel pings 1
.channel pongs 1

.proc ponger
        li      r1, 0           ; pings answered: what `join` hands back
next:   recv    r2, pings
        bz      r2, done        ; 0 ends the game
        mul     r3, r2, r2
        send    pongs, r3
        addi    r1, r1, 1
        jmp     next
done:   ret                     ; returning from its entry ends a spawned procedure
.end

.proc main
        li      r8, -1
        spawn   r9, ponger, r8  ; r9 = its handle
        li      r2, 1
        li      r4, 6
round:  send    pings, r2
        recv    r3, pongs
        prints  "ping "
        print   r2
        prints  " -> pong "
        print   r3
        println
        addi    r2, r2, 1
        bge     r4, r2, round   ; while r2 <= 6
        li      r0, 0
        send    pings, r0       ; game over
        join    r1, f1, r9
        prints  "the ponger answered "
        print   r1
        prints  " pings\n"
        halt
.end
