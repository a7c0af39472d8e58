; Lesson 27: a pipeline of three stages over channels
;
; What this shows
;   Three procedures in a row, each doing one job and passing its results
;   on: `numbers` makes the integers 1 .. 12 four at a time and sends each
;   block of four as one message (`sendr` puts a copy of a region slice on
;   a channel); `roots` takes a block at a time into its own region (`recvr`
;   says how many elements came), and sends on the square root of each
;   number (a float: `sendf`/`recvf` carry float registers); main prints
;   them. The stages run at the same time as far as the channels let them:
;   a channel holds at most its capacity, so a stage that gets ahead waits
;   in its send until the next stage has taken something (back-pressure),
;   and no stage ever has more than a channel's capacity of messages piled
;   up in front of it. `polymer-run --stats` shows, per channel, the
;   messages, the bytes, and the most it ever held: never more than 2.
;   The end of the stream is a message too: an empty block, then -1.0.
;   A message is what its sender put in: recv of a float (or recvf of an
;   integer, or recvr of anything but a slice of its region's type) traps
;   `bad-message`.
;
; New instructions
;   sendr ch, region, rAt, rN   a copy of region[rAt .. rAt+rN) as one message
;   recvr rN, region, rAt, ch   the next message, a slice, into region from rAt; rN := its length
;   sendf ch, fV / recvf fV, ch the float registers' send and recv
;
; Try next
;   Make main take its roots with `recv r1, cooked` instead of `recvf`: the
;   run stops with a `bad-message` trap, as the message is a float.
;   Raise the capacities and compare `--stats`: fewer waits, more held.

.module pipeline

.channel raw 2                  ; numbers -> roots: blocks of 4 numbers
.channel cooked 2               ; roots -> main: one root per message

.region made i64[4]             ; the block `numbers` fills (sendr copies it)
.region got i64[4]              ; the block `roots` receives into

.proc numbers
        li      r0, 0
        li      r2, 1           ; the next number
        li      r3, 12
        li      r6, 4
block:  li      r4, 0
fill:   st.i64  made[r4], r2
        addi    r2, r2, 1
        addi    r4, r4, 1
        blt     r4, r6, fill
        sendr   raw, made, r0, r6   ; made[0 .. 4) as one message
        bge     r3, r2, block       ; while the next number <= 12
        sendr   raw, made, r0, r0   ; an empty block: the end
        ret
.end

.proc roots
        li      r0, 0
again:  recvr   r5, got, r0, raw    ; r5 = how many numbers came
        bz      r5, done
        li      r4, 0
each:   ld.i64  r2, got[r4]
        itof    f2, r2
        fsqrt   f2, f2
        sendf   cooked, f2
        addi    r4, r4, 1
        blt     r4, r5, each
        jmp     again
done:   lif     f2, -1.0
        sendf   cooked, f2          ; the end
        ret
.end

.proc main
        li      r8, -1
        spawn   r9, numbers, r8
        spawn   r10, roots, r8
        li      r2, 1
        lif     f0, 0.0
show:   recvf   f1, cooked
        flt     r3, f1, f0
        bnz     r3, end
        prints  "sqrt("
        print   r2
        prints  ") = "
        printfd f1, 6
        println
        addi    r2, r2, 1
        jmp     show
end:    join    r1, f1, r9
        join    r1, f1, r10
        prints  "all three stages are done\n"
        halt
.end
