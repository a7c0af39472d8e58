; Lesson 07: two classic algorithms, the sieve of Eratosthenes and
; insertion sort
;
; What this shows
;   Putting lessons 03-05 together: nested loops over regions, a procedure
;   that works on a region, and printing the results.
;   The sieve marks every multiple of each prime as composite, starting at
;   p*p (smaller multiples were marked by smaller primes), and stops when
;   p*p passes the limit. Insertion sort grows a sorted prefix one element
;   at a time, shifting larger elements one place to the right.
;
; New ideas (no new instructions)
;   a u8 region used as an array of flags; `alloc` to size it at run time;
;   an inner loop whose start depends on the outer one.
;
; Try next
;   Raise the limit to 1,000,000 and time it with `polymer-run --stats`
;   (78,498 primes). Sort in descending order. Count the comparisons.

.module sieve

.region composite u8[1]             ; sized by alloc in `sieve`
.region numbers   i64[] = 31, -4, 15, 9, 26, 0, 5, -17, 42, 8, 15, 3

; sieve(limit): marks composite[n] = 1 for every composite n < limit,
; prints the primes below limit on one line. r1 = limit -> r1 = how many.
.proc sieve
        alloc   composite, r1       ; limit zeroed flags: all "maybe prime"
        mov     r9, r1              ; r9 = limit
        li      r2, 2               ; p
outer:
        mul     r3, r2, r2          ; m = p * p
        bge     r3, r9, count       ; p * p >= limit: done marking
        ld.u8   r4, composite[r2]
        bnz     r4, next_p          ; p is composite: its multiples are marked
        li      r5, 1
mark:
        st.u8   composite[r3], r5
        add     r3, r3, r2          ; m += p
        blt     r3, r9, mark
next_p:
        addi    r2, r2, 1
        jmp     outer
count:
        li      r1, 0               ; primes found
        li      r2, 2
scan:
        bge     r2, r9, done
        ld.u8   r4, composite[r2]
        bnz     r4, skip
        bz      r1, first           ; a space before every prime but the first
        li      r8, ' '
        printc  r8
first:
        print   r2
        addi    r1, r1, 1
skip:
        addi    r2, r2, 1
        jmp     scan
done:
        println
        ret
.end

; insertion_sort: sorts the region `numbers` in place, ascending.
.proc insertion_sort
        len     r9, numbers
        li      r2, 1               ; i: numbers[0..i) is sorted
next_i:
        bge     r2, r9, sorted
        ld.i64  r3, numbers[r2]     ; key = numbers[i]
        mov     r4, r2              ; j = i: the hole where key may go
shift:
        bz      r4, place           ; the hole reached the front
        addi    r6, r4, -1
        ld.i64  r5, numbers[r6]     ; the element left of the hole
        bge     r3, r5, place       ; it is <= key: the key goes in the hole
        st.i64  numbers[r4], r5     ; move it right, the hole moves left
        mov     r4, r6
        jmp     shift
place:
        st.i64  numbers[r4], r3     ; numbers[j] = key
        addi    r2, r2, 1
        jmp     next_i
sorted:
        ret
.end

.proc main
        prints  "primes below 100:\n"
        li      r1, 100
        call    sieve
        prints  "count: "
        print   r1
        println

        li      r2, 0
        len     r3, numbers
        prints  "before: "
        printr  numbers, r2, r3
        println
        call    insertion_sort
        li      r2, 0
        len     r3, numbers
        prints  "after:  "
        printr  numbers, r2, r3
        println
        halt
.end
