step 2
info rob
break swap
continue
info rob
step
print r1
delete
continue
