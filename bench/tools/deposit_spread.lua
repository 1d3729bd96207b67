-- wrk script for scripts/bench.sh: deposits spread over many accounts, so every partition (and
-- every projection round trip) is busy at once rather than one account's partition.
--   wrk -t2 -c256 -d10s -s bench/tools/deposit_spread.lua URL -- ACCOUNTS_FILE [wait=false]
-- ACCOUNTS_FILE holds one account id per line (accounts that exist). Each wrk thread walks the
-- list from its own random start, one deposit of 1 per request; wrk counts non-2xx answers.
local accounts = {}
local query = ""

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then accounts[#accounts + 1] = line end
  end
  if args[2] == "wait=false" then query = "?wait=false" end
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  wrk.method = "POST"
  wrk.body = '{"amount":1}'
  wrk.headers["Content-Type"] = "application/json"
  next_index = math.random(#accounts)
end

function request()
  next_index = next_index % #accounts + 1
  return wrk.format(nil, "/accounts/" .. accounts[next_index] .. "/deposit" .. query)
end

