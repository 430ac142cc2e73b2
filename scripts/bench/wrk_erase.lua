-- wrk script for the webhook server's capacity: POST /erase with a contract-shaped body,
-- a different user id per request.
--   wrk -t1 -c1024 -d5s -s scripts/bench/wrk_erase.lua http://127.0.0.1:PORT/erase
local counter = 0
request = function()
    counter = counter + 1
    local body = '{"email":"orig@foo.invalid","event_id":"168726d1-9e87-59dd-861f-1be5dcbb6eaf",'
        .. '"requested_at":"2018-10-18T20:35:52.349757Z","user_id":' .. counter
        .. ',"username":"retirement_test"}'
    return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
