local s = 0
for i = 0, 90000000 - 1 do
  s = s + (i * i) % 7
end
print(string.format("%d", s))
