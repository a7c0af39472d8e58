-- Same computation as vecloop.pasm: the "vector op" is a loop over 4 elements.
local a = {1, 2, 3, 4}
local b = {10, 20, 30, 40}
local c = {}
for k = 1, 4 do c[k] = a[k] + b[k] end
local v = 0
for k = 1, 4 do v = v + c[k] end
local s = 0
for i = 0, 30000000 - 1 do
  s = s + (i * i) % 7
end
print(string.format("%d", s * 1000 + v))
