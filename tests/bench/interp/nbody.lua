-- Same simulation and operation order as nbody.pasm (see its header). The
-- vector ops are plain loops over the bodies; a * b + c is rounded twice,
-- like nbody.pasm's vmul then vadd.
local N, STEPS = 16, 30000
local dt, eps = 0.001, 0.01
local px, py, pz, vx, vy, vz, ax, ay, az, m = {}, {}, {}, {}, {}, {}, {}, {}, {}, {}
for i = 1, N do
  local b = i - 1
  px[i] = (b % 4) * 1.0
  py[i] = math.floor(b / 4) * 1.0
  pz[i] = (b % 3) * 0.5
  m[i] = (b % 3) * 0.5 + 1.0
  vy[i] = (b % 3 - 1) * 0.05
  vx[i] = (b % 5 - 2) * 0.05
  vz[i] = (b % 7 - 3) * 0.02
end
local sqrt = math.sqrt
for _ = 1, STEPS do
  for i = 1, N do ax[i] = 0.0; ay[i] = 0.0; az[i] = 0.0 end
  for i = 1, N do
    local xi, yi, zi = px[i], py[i], pz[i]
    local axi, ayi, azi = ax[i], ay[i], az[i]
    local mi = m[i]
    for j = i + 1, N do
      local dx = px[j] - xi
      local dy = py[j] - yi
      local dz = pz[j] - zi
      local d2 = dx * dx + dy * dy + dz * dz + eps
      local inv3 = 1.0 / (d2 * sqrt(d2))
      local si = m[j] * inv3
      local sj = mi * inv3
      axi = axi + dx * si
      ayi = ayi + dy * si
      azi = azi + dz * si
      ax[j] = ax[j] - dx * sj
      ay[j] = ay[j] - dy * sj
      az[j] = az[j] - dz * sj
    end
    ax[i], ay[i], az[i] = axi, ayi, azi
  end
  for i = 1, N do vx[i] = ax[i] * dt + vx[i] end
  for i = 1, N do vy[i] = ay[i] * dt + vy[i] end
  for i = 1, N do vz[i] = az[i] * dt + vz[i] end
  for i = 1, N do px[i] = vx[i] * dt + px[i] end
  for i = 1, N do py[i] = vy[i] * dt + py[i] end
  for i = 1, N do pz[i] = vz[i] * dt + pz[i] end
  local e = 0.0
  for i = 1, N do
    local k = vx[i] * vx[i]
    k = vy[i] * vy[i] + k
    k = vz[i] * vz[i] + k
    e = e + k * m[i]
  end
  if e > 1e30 then
    print(-1)
    os.exit(0)
  end
end
local s = 0.0
for i = 1, N do
  s = s + px[i]; s = s + py[i]; s = s + pz[i]
  s = s + vx[i]; s = s + vy[i]; s = s + vz[i]
end
s = s * 1e6
if s >= 0 then s = math.floor(s) else s = math.ceil(s) end
print(string.format("%d", s))
