# Lesson 14's session: polymer-run --batch samples/14-debugging.gdb samples/14-debugging.pasm
# (lines starting with # are comments; the output is samples/14-debugging.transcript)
list
break swap
continue
bt
print r1
x data
watch data[0]
continue
backstep
x data 0 2
step
info frames
finish
delete
until r21 == 3
info registers r1 r21
continue
