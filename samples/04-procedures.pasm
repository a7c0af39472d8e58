; Lesson 04: procedures, the calling convention and the stack
;
; What this shows
;   Registers are global: a `call` does not save them. So every procedure
;   follows one convention (docs/language.md):
;     r1..r7 / f1..f7    arguments in order; r1 / f1 also carries the result
;     r0, r8..r15        temporaries: any call may overwrite them
;     r16..r31           callee-saved: a procedure that writes one first
;                        pushes it and pops it back before `ret`
;   `call` pushes the return address on the call stack (10,000 deep);
;   `push`/`pop` use a separate value stack of 64-bit slots.
;
; New instructions
;   call NAME          jump to procedure NAME, remembering where to come back
;   ret                return to the caller (from `main`: end the program)
;   push rA / pop rA   save / restore an integer register on the value stack
;   pushf / popf       the same for float registers
;
; Try next
;   Call fact(21): the true value does not fit 64 bits, so it wraps.
;   Remove the push/pop in `fib` and watch the results go wrong.
;   Call a procedure that calls itself forever: trap `call-depth`.

.module procedures

; fact(n) = n!, recursively. r1 = n -> r1 = n!
.proc fact
        li      r8, 1
        bge     r8, r1, one         ; n <= 1: the answer is 1
        push    r16                 ; we need n after the call: keep it in
        mov     r16, r1             ; a callee-saved register, saving the
        addi    r1, r1, -1          ; caller's value first
        call    fact                ; r1 = (n-1)!
        mul     r1, r1, r16         ; r1 = n * (n-1)!
        pop     r16                 ; give the caller its r16 back
        ret
one:
        li      r1, 1
        ret
.end

; fib(n) = fib(n-1) + fib(n-2), fib(0) = 0, fib(1) = 1. r1 = n -> r1
.proc fib
        li      r8, 2
        blt     r1, r8, small       ; fib(0) = 0, fib(1) = 1: r1 already holds it
        push    r16
        push    r17
        mov     r16, r1             ; n
        addi    r1, r16, -1
        call    fib
        mov     r17, r1             ; fib(n-1), safe across the next call
        addi    r1, r16, -2
        call    fib
        add     r1, r1, r17         ; fib(n-2) + fib(n-1)
        pop     r17                 ; pop in the reverse order of push
        pop     r16
small:
        ret
.end

; gcd(a, b) by Euclid's algorithm: two arguments, r1 = a, r2 = b -> r1.
; A leaf procedure that only touches argument and temporary registers
; needs no push or pop at all.
.proc gcd
loop:
        bz      r2, done
        rem     r8, r1, r2
        mov     r1, r2
        mov     r2, r8
        jmp     loop
done:
        ret
.end

; hypot(x, y) = sqrt(x*x + y*y): float arguments travel in f1, f2.
.proc hypot
        fmul    f1, f1, f1
        fmul    f2, f2, f2
        fadd    f1, f1, f2
        fsqrt   f1, f1
        ret
.end

.proc main
        prints  "fact(10) = "
        li      r1, 10
        call    fact
        print   r1
        println
        prints  "fact(20) = "
        li      r1, 20
        call    fact
        print   r1
        println

        ; fib(0) .. fib(15). The loop counter lives in r16 and the bound in
        ; r17: fib saves and restores them, so they survive every call.
        ; (main is the entry procedure: it has no caller whose r16 to keep.)
        prints  "fib:"
        li      r16, 0
        li      r17, 15
fibs:
        li      r8, ' '
        printc  r8
        mov     r1, r16
        call    fib
        print   r1
        addi    r16, r16, 1
        bge     r17, r16, fibs
        println
        prints  "fib(25) = "
        li      r1, 25
        call    fib
        print   r1
        println

        prints  "gcd(1071, 462) = "
        li      r1, 1071
        li      r2, 462
        call    gcd
        print   r1
        println

        prints  "hypot(3, 4) = "
        lif     f1, 3
        lif     f2, 4
        call    hypot
        printf  f1
        println
        ret                         ; returning from main ends the program
.end
