-- Same grid and operation order as mandel.pasm (see its header).
local sum = 0
for py = 0, 599 do
  local cy = -1.5 + 3.0 * py / 600.0
  for px = 0, 599 do
    local cx = -2.0 + 3.0 * px / 600.0
    local zx, zy = 0.0, 0.0
    local n = 0
    while n < 100 do
      local x2, y2 = zx * zx, zy * zy
      if x2 + y2 > 4.0 then break end
      local t = zx * zy
      zy = t + t + cy
      zx = x2 - y2 + cx
      n = n + 1
    end
    sum = sum + n
  end
end
print(string.format("%d", sum))
