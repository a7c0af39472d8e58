; Lesson 03: branches and loops
;
; What this shows
;   There are no structured `if` or `while` in a logic procedure: control
;   flow is labels and branches, as in any assembly language. A label is
;   `name:` on its own line; labels are local to their procedure.
;   A loop is a label at the top, a body, and a branch back.
;
; New instructions
;   jmp label              always jump
;   bz / bnz rA, label     jump if rA is zero / not zero
;   beq bne blt bge        compare two registers and jump (signed)
;   bltu bgeu              the same, unsigned
;   eq ne lt le            rA := 1 if the comparison holds, else 0
;   andi                   rA := rB & imm (here: test for an odd number)
;   printc rA              write one character (the low byte of rA)
;
; Try next
;   Print the numbers 10 down to 1. Find the number below 100 whose Collatz
;   sequence is the longest (answer: 97, 118 steps).

.module loops

.proc main
        ; --- counting: for (i = 1; i <= 10; i++) print i ------------------
        li      r1, 1               ; i
        li      r2, 10              ; the bound
count:
        print   r1
        beq     r1, r2, counted     ; no space after the last number
        li      r3, ' '
        printc  r3
        addi    r1, r1, 1
        jmp     count
counted:
        println

        ; --- sum of 1..100 ---------------------------------------------
        li      r1, 0               ; sum
        li      r2, 1               ; i
        li      r3, 100
sum:
        add     r1, r1, r2
        addi    r2, r2, 1
        bge     r3, r2, sum         ; while 100 >= i
        prints  "sum 1..100 = "
        print   r1
        println

        ; --- FizzBuzz for 1..15 ----------------------------------------
        li      r1, 1               ; n
        li      r2, 15
        li      r3, 3
        li      r4, 5
fizzbuzz:
        rem     r5, r1, r3          ; r5 = n mod 3
        rem     r6, r1, r4          ; r6 = n mod 5
        or      r7, r5, r6          ; zero only when both are zero
        bz      r7, say_fizzbuzz
        bz      r5, say_fizz
        bz      r6, say_buzz
        print   r1
        jmp     next
say_fizzbuzz:
        prints  "FizzBuzz"
        jmp     next
say_fizz:
        prints  "Fizz"
        jmp     next
say_buzz:
        prints  "Buzz"
next:
        println
        addi    r1, r1, 1
        bge     r2, r1, fizzbuzz

        ; --- Collatz: steps from 27 down to 1, and the peak on the way ---
        li      r1, 27              ; n
        li      r2, 0               ; steps
        li      r3, 27              ; peak
        li      r4, 1
collatz:
        beq     r1, r4, collatz_done
        andi    r5, r1, 1
        bnz     r5, odd
        sari    r1, r1, 1           ; even: n = n / 2
        jmp     step
odd:
        muli    r1, r1, 3           ; odd: n = 3n + 1
        addi    r1, r1, 1
step:
        addi    r2, r2, 1
        lt      r6, r3, r1          ; r6 = peak < n
        bz      r6, collatz
        mov     r3, r1              ; new peak
        jmp     collatz
collatz_done:
        prints  "collatz(27): "
        print   r2
        prints  " steps, peak "
        print   r3
        println
        halt
.end
