-- wrk script of bench/gateway_bench.py: production-shaped traffic (bench/gateway_traffic.py).
--
--   wrk -s bench/gateway_traffic.lua URL -- [shapes=FILE tokens=FILE] [seed=N] [paced] [close]
--
-- shapes=, tokens=  every request draws a shape (weighted: the `picks` table of FILE) and, when the
--                   shape carries one, a bearer token (one a line), both at random; `{id}`s of the
--                   path become random numbers. Without them wrk sends its static request (-H, URL).
-- paced             each connection waits a random 5-25 ms before every request (a fixed offered
--                   load below saturation; a constant wait would fire all connections in lock-step)
-- close             every request asks for Connection: close

local shapes, picks, tokens, host = nil, nil, {}, nil

local function request_mixed()
   local shape = shapes[picks[math.random(#picks)]]
   local parts = shape.parts
   local path = parts[1]
   for i = 2, #parts do
      path = path .. math.random(100000, 999999) .. parts[i]
   end
   local auth = ""
   if shape.token then
      auth = "Authorization: Bearer " .. tokens[math.random(#tokens)] .. "\r\n"
   end
   return shape.method .. " " .. path .. " HTTP/1.1\r\n" .. host .. auth .. shape.head .. "\r\n" .. shape.body
end

function init(args)
   local options = {}
   for i = 1, #args do
      local key, value = args[i]:match("^([%w_]+)=(.*)$")
      options[key or args[i]] = value or true
   end
   math.randomseed(tonumber(options.seed or os.time()))
   if options.paced then
      delay = function() return math.random(5, 25) end
   end
   local close = options.close and "Connection: close\r\n" or ""
   if options.close then
      wrk.headers["Connection"] = "close"
   end
   if options.shapes then
      local spec = dofile(options.shapes)
      shapes, picks = spec.shapes, spec.picks
      for _, shape in ipairs(shapes) do
         shape.head = shape.head .. close
      end
      for line in io.lines(options.tokens) do
         tokens[#tokens + 1] = line
      end
      host = "Host: " .. wrk.headers["Host"] .. "\r\n"
      request = request_mixed
   end
end
