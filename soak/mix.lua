-- wrk script for the soak: one connection per thread, each thread with a role.
--
-- SOAK_ROLES (e.g. "lb,hb,pages,pages") gives thread i the i-th role (cycling);
-- a role is a list of paths the thread requests in turn. Run wrk with as many
-- connections as threads, so a thread's requests and responses strictly
-- alternate: a request() not preceded by a response() means the previous
-- request failed (socket error, reset), and its number is recorded.
--
-- Every request carries X-Request-ID "soak-<thread>-<n>", so the soak can
-- match each answered request with its request.summary log line.
-- done() prints one line "SOAK-WRK <json>" with the per-thread counts.

local PATHS = {
   lb = { "/__lbheartbeat__" },
   hb = { "/__heartbeat__" },
   -- Through a load balancer during a rollout: pages that answer 2xx only.
   site = { "/", "/backends/", "/__version__" },
   pages = {
      "/",
      "/backends/",
      "/admin/login/",
      "/__version__",
      "/static/admin/css/base.css",
      "/no-such-page/",
   },
}

local threads = {}
local created = 0

function setup(thread)
   created = created + 1
   local roles = {}
   for role in string.gmatch(os.getenv("SOAK_ROLES") or "pages", "[^,]+") do
      table.insert(roles, role)
   end
   thread:set("role", roles[((created - 1) % #roles) + 1])
   thread:set("tid", created)
   table.insert(threads, thread)
end

function init(args)
   paths = PATHS[role]
   sent = 0
   answered = 0
   pending = false
   failed = {} -- numbers of requests that got no response
   statuses = {} -- status (as a string) -> count
end

function request()
   if pending then
      table.insert(failed, sent)
   end
   sent = sent + 1
   pending = true
   local path = paths[((sent - 1) % #paths) + 1]
   return wrk.format("GET", path, {
      ["Host"] = wrk.headers["Host"],
      ["User-Agent"] = "dockerflow-soak",
      ["X-Request-ID"] = "soak-" .. tid .. "-" .. sent,
   })
end

function response(status, headers, body)
   pending = false
   answered = answered + 1
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
end

local function json_value(value)
   if type(value) == "table" then
      local parts = {}
      if #value > 0 or next(value) == nil then
         for _, item in ipairs(value) do
            table.insert(parts, json_value(item))
         end
         return "[" .. table.concat(parts, ",") .. "]"
      end
      for key, item in pairs(value) do
         table.insert(parts, string.format("%q:%s", tostring(key), json_value(item)))
      end
      return "{" .. table.concat(parts, ",") .. "}"
   elseif type(value) == "string" then
      return string.format("%q", value)
   elseif type(value) == "boolean" then
      return value and "true" or "false"
   end
   return string.format("%d", value)
end

function done(summary, latency, requests)
   local report = { threads = {}, errors = summary.errors, requests = summary.requests }
   for _, thread in ipairs(threads) do
      table.insert(report.threads, {
         tid = thread:get("tid"),
         role = thread:get("role"),
         sent = thread:get("sent"),
         answered = thread:get("answered"),
         pending = thread:get("pending"),
         failed = thread:get("failed"),
         statuses = thread:get("statuses"),
      })
   end
   report.latency_max_us = latency.max
   io.write("SOAK-WRK " .. json_value(report) .. "\n")
end
