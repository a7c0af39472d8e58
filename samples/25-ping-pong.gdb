# Lesson 25's session: polymer-run --batch samples/25-ping-pong.gdb samples/25-ping-pong.pasm
# (the output is samples/25-ping-pong.transcript). A breakpoint in the spawned
# ponger; the procedures and what each waits for; main's registers while the
# ponger runs; how far backstep reaches; next over a recv that waits, while
# main runs a round.
break 43
continue
info procs
print r2
bt
proc 0
info registers r2 r3 r9
continue
print r2
step 3
backstep 5
next
next
next
info procs
delete
continue
