local N = 10000000
local composite = {}
for i = 0, N do composite[i] = false end
local p = 2
while p * p <= N do
  if not composite[p] then
    for m = p * p, N, p do composite[m] = true end
  end
  p = p + 1
end
local count = 0
for i = 2, N do
  if not composite[i] then count = count + 1 end
end
print(count)
