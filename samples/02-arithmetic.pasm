; Lesson 02: integer and float arithmetic
;
; What this shows
;   Registers r0..r31 hold 64-bit two's-complement integers; f0..f31 hold
;   IEEE-754 binary64 floats. Integer arithmetic WRAPS: there is no overflow
;   trap and no undefined case. Division rounds toward zero, the remainder
;   takes the sign of the dividend, and dividing by zero traps (integers) or
;   gives inf/nan (floats).
;
; New instructions
;   add sub mul div rem     rA := rB op rC (signed)
;   divu remu               unsigned division and remainder
;   addi muli               rA := rB op imm (a 32-bit immediate)
;   shli shri sari          shift left / logical right / arithmetic right
;   printu                  print a register as an UNSIGNED number
;   lif fA, 1.5             load a float constant
;   fadd fsub fmul fdiv fsqrt
;   itof ftoi               integer <-> float (ftoi truncates toward zero)
;   printf fA               print the shortest decimal that reads back exactly
;
; Try next
;   Divide by zero with `div` and read the trap message (exit status 2).
;   Print 0.1 + 0.2 - 0.3 and explain the result.

.module arithmetic

.proc main
        li      r1, 7
        li      r2, 3
        prints  "7 + 3 = "
        add     r3, r1, r2
        print   r3
        println
        prints  "7 - 3 = "
        sub     r3, r1, r2
        print   r3
        println
        prints  "7 * 3 = "
        mul     r3, r1, r2
        print   r3
        println
        prints  "7 / 3 = "
        div     r3, r1, r2          ; 2: the quotient is truncated
        print   r3
        println
        prints  "7 rem 3 = "
        rem     r3, r1, r2          ; 1
        print   r3
        println

        ; Negative operands: the quotient rounds toward zero and the
        ; remainder keeps the sign of the dividend, as in C.
        li      r1, -7
        prints  "-7 / 3 = "
        div     r3, r1, r2          ; -2, not -3
        print   r3
        println
        prints  "-7 rem 3 = "
        rem     r3, r1, r2          ; -1
        print   r3
        println

        ; The same bits read as unsigned: -1 is 2^64 - 1.
        li      r1, -1
        prints  "-1 as unsigned = "
        printu  r1
        println
        li      r2, 2
        prints  "(2^64 - 1) divu 2 = "
        divu    r3, r1, r2          ; 9223372036854775807
        print   r3
        println

        ; Wraparound: the largest 64-bit integer plus one is the smallest.
        ; The literal does not fit 32 bits, so the assembler emits `liw`,
        ; which takes its value from the module's constant pool.
        li      r1, 9223372036854775807
        addi    r1, r1, 1
        prints  "INT64_MAX + 1 = "
        print   r1
        println

        ; Shifts: multiply or divide by powers of two.
        li      r1, 1
        shli    r3, r1, 40          ; 2^40
        prints  "1 << 40 = "
        print   r3
        println
        li      r1, -16
        sari    r3, r1, 2           ; arithmetic: keeps the sign, -4
        prints  "-16 sar 2 = "
        print   r3
        println
        shri    r3, r1, 60          ; logical: zeros come in from the left
        prints  "-16 shr 60 = "
        print   r3
        println

        ; Floats.
        lif     f1, 0.1
        lif     f2, 0.2
        fadd    f3, f1, f2          ; 0.1 and 0.2 are not exact in binary
        prints  "0.1 + 0.2 = "
        printf  f3
        println
        lif     f1, 1.0
        lif     f2, 3.0
        fdiv    f3, f1, f2
        prints  "1 / 3 = "
        printf  f3
        println
        lif     f1, 1.5
        lif     f2, 4
        fmul    f3, f1, f2          ; an integral float prints without ".0"
        prints  "1.5 * 4 = "
        printf  f3
        println
        lif     f1, 2
        fsqrt   f3, f1
        prints  "sqrt(2) = "
        printf  f3
        println
        lif     f1, 1
        lif     f2, 0
        fdiv    f3, f1, f2          ; IEEE: no trap, an infinity
        prints  "1 / 0.0 = "
        printf  f3
        println

        ; Converting between the two register files.
        li      r1, 10
        itof    f1, r1              ; 10 -> 10.0
        lif     f2, 4
        fdiv    f3, f1, f2          ; 2.5
        prints  "10 / 4.0 = "
        printf  f3
        println
        lif     f1, -2.75
        ftoi    r3, f1              ; truncates toward zero: -2
        prints  "ftoi(-2.75) = "
        print   r3
        println
        halt
.end
