-- Password sign-in: GET /authorize without a session (the sign-in page, its CSRF token and a
-- pre-sign-in cookie), then POST /login with the right password (argon2id). One unit = one
-- sign-in answered with the redirect back to the client.
local user = os.getenv("BENCH_USER")
local password = os.getenv("BENCH_PASSWORD")
local redirect = os.getenv("BENCH_REDIRECT")
local authorize = "/authorize?response_type=code&client_id=bench-web&scope=openid"
  .. "&state=s1&nonce=n1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
  .. "&code_challenge_method=S256&redirect_uri=" .. redirect
local forms = {}

function request()
  local form = table.remove(forms)
  if form then
    return wrk.format("POST", "/login", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = form.cookie,
    }, "csrf_token=" .. form.csrf .. "&request_id=" .. form.request_id
      .. "&username=" .. user .. "&password=" .. password .. "&action=sign_in")
  end
  return wrk.format("GET", authorize)
end

function response(status, headers, body)
  if status == 200 then
    local csrf = body:match('name="csrf_token" value="([^"]+)"')
    local request_id = body:match('name="request_id" value="([^"]+)"')
    local set_cookie = headers["set-cookie"] or headers["Set-Cookie"]
    if csrf and request_id and set_cookie then
      local cookie = set_cookie:match("^([^;]+)")
      table.insert(forms, { csrf = csrf, request_id = request_id, cookie = cookie })
    end
  elseif status == 303 then
    units = units + 1
  end
end
