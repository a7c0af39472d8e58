; Lesson 18: program arguments and input
;
; What this shows
;   A program reads what follows `--` on polymer-run's command line, and
;   its standard input:
;
;     polymer-run samples/18-arguments.pasm -- 5 2.5 Ada < samples/18-arguments.stdin
;
;   Arguments count from 0 (here "5", "2.5" and "Ada"):
;     argc rA          R[A] := how many arguments there are
;     argi rA, rB      R[A] := argument R[B] as an integer
;     argf fA, rB      F[A] := argument R[B] as a number
;     args text, rB    the u8 region `text` := the bytes of argument R[B]
;   An argument that is missing or not a number stops the program with a
;   trap that says which and why:
;     polymer-run samples/18-arguments.pasm -- five 2.5 Ada
;     polymer-run: trap: bad-argument in proc 'main' at pc 15
;       (samples/18-arguments.pasm:59:9): argi r10, r1: argument 0 is
;       'five', not an integer
;
;   Standard input is read in order, a line or a word at a time:
;     readln rA, text  `text` := the next line (without its newline),
;                      R[A] := its length, or -1 at the end of the input
;     readi rA, rB     R[A] := the next word as an integer, R[B] := 1;
;                      at the end of the input R[A] := 0, R[B] := 0
;     readf fA, rB     the same for a number
;   A word that is not a number traps `bad-input` with its line. Input is
;   ordered like output: every execution mode reads the same values in the
;   same order, and a prompt printed before a read is seen before it waits.
;
; Try
;   Run it without arguments (it prints how to call it), with other
;   numbers, or type the input yourself: leave out `< file`, type numbers,
;   and end with Ctrl-D. `--stdin FILE` reads the input from FILE, which
;   is how the debugger (whose commands come from stdin) gets it.
.module arguments

.region name  u8[0]                 ; argument 2, replaced by `args`
.region title u8[0]                 ; the first line of the input

.proc main
        argc    r1
        li      r2, 3
        bge     r1, r2, run
        prints  "usage: polymer-run samples/18-arguments.pasm -- COUNT SCALE NAME\n"
        halt
run:
        li      r1, 2               ; argument 2: a name
        args    name, r1
        prints  "Hello, "
        len     r2, name
        li      r3, 0
        printr  name, r3, r2
        prints  "! ("
        print   r2
        prints  " letters)\n"

        li      r1, 0
        argi    r10, r1             ; COUNT
        li      r1, 1
        argf    f10, r1             ; SCALE
        li      r1, 1               ; i * SCALE for i = 1 .. COUNT
table:
        blt     r10, r1, input
        print   r1
        prints  " x "
        printf  f10
        prints  " = "
        itof    f1, r1
        fmul    f1, f1, f10
        printf  f1
        println
        addi    r1, r1, 1
        jmp     table

input:
        readln  r1, title           ; the first line names the numbers
        li      r2, -1
        bne     r1, r2, named
        prints  "no input\n"
        halt
named:
        prints  "reading "
        li      r2, 0
        printr  title, r2, r1
        println
        li      r3, 0               ; how many numbers
        lif     f2, 0.0             ; their sum
        lif     f3, inf             ; the smallest
        lif     f4, -inf            ; the largest
numbers:
        readf   f1, r4
        bz      r4, report          ; the end of the input
        addi    r3, r3, 1
        fadd    f2, f2, f1
        fmin    f3, f3, f1
        fmax    f4, f4, f1
        jmp     numbers
report:
        print   r3
        prints  " numbers, sum "
        printf  f2
        prints  ", from "
        printf  f3
        prints  " to "
        printf  f4
        bz      r3, done
        prints  ", mean "
        itof    f5, r3
        fdiv    f5, f2, f5
        printf  f5
done:
        println
        halt
.end
