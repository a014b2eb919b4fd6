-- The authorization-code flow of a signed-in user (session cookie, no password): GET
-- /authorize answers with a code at once; the code is then redeemed at /token with PKCE.
-- One unit = one flow (both requests answered as expected).
local cookie = os.getenv("BENCH_COOKIE")
local auth = os.getenv("BENCH_AUTH")
local redirect = os.getenv("BENCH_REDIRECT")
local verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
local authorize = "/authorize?response_type=code&client_id=bench-web&scope=openid%20profile"
  .. "&state=s1&nonce=n1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
  .. "&code_challenge_method=S256&redirect_uri=" .. redirect
local codes = {}
local last = nil

function request()
  local code = table.remove(codes)
  if code then
    last = "token"
    return wrk.format("POST", "/token", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Authorization"] = auth,
    }, "grant_type=authorization_code&code=" .. code .. "&redirect_uri=" .. redirect
      .. "&code_verifier=" .. verifier)
  end
  return wrk.format("GET", authorize, { ["Cookie"] = cookie })
end

function response(status, headers, body)
  local location = headers["location"] or headers["Location"]
  if location then
    local code = location:match("[?&]code=([^&]+)")
    if code then table.insert(codes, code) end
  elseif status == 200 and body:find('"id_token"', 1, true) then
    units = units + 1
  end
end
