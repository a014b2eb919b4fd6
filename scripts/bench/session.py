"""Signs the benchmark user in once and prints the session cookie (name=value).

Usage: session.py BASE_URL USER PASSWORD REDIRECT_URI
"""

import html
import re
import sys
import urllib.parse
from http.client import HTTPConnection


def main() -> None:
    base, user, password, redirect = sys.argv[1:5]
    url = urllib.parse.urlsplit(base)
    conn = HTTPConnection(url.hostname, url.port)
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": "bench-web", "scope": "openid",
        "redirect_uri": redirect, "state": "s", "nonce": "n",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    })
    conn.request("GET", "/authorize?" + query)
    page = conn.getresponse()
    body = page.read().decode()
    cookie = page.getheader("set-cookie").split(";", 1)[0]
    fields = dict(re.findall(r'name="(csrf_token|request_id)" value="([^"]+)"', body))
    form = urllib.parse.urlencode({
        "csrf_token": html.unescape(fields["csrf_token"]),
        "request_id": html.unescape(fields["request_id"]),
        "username": user, "password": password, "action": "sign_in",
    })
    conn.request("POST", "/login", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    done = conn.getresponse()
    done.read()
    if done.status != 303:
        sys.exit(f"sign-in failed: {done.status}")
    renewed = done.getheader("set-cookie")
    print(renewed.split(";", 1)[0] if renewed else cookie)


if __name__ == "__main__":
    main()
