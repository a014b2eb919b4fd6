#!/usr/bin/env python3
"""The docker-compose `demo` profile, run without Docker and checked end to end.

This machine (and CI) has no Docker daemon, so the compose file cannot be started here. This
script does the next best thing: it reads docker-compose.yml and .env.example, makes the
environment each demo service would get from Compose (the README's one edit applied:
DEV_MODE=true), starts the same binaries with it, and plays the README's "Try the whole
platform" walk-through over HTTP: the gateway sends the browser to the sign-in page, the demo
user (password from the provider's start-up banner, as `docker compose logs` shows it) signs
in, the gateway shows who is signed in, calls the resource server with the user's token, and
signs out at the provider and back.

Only what Docker itself adds is translated: service names (identity-backend, gateway,
resource-server) become 127.0.0.1, the sqlite volume becomes a temporary folder. The ports
are Compose's published ones (5002, 5000, 5003), since the dev client's redirect URI names
localhost:5000; they must be free.

    scripts/demo-check.py        # builds what it needs, exits non-zero on any failure
"""

import html
import http.cookiejar
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTS = {"identity-backend": "127.0.0.1", "gateway": "127.0.0.1", "resource-server": "127.0.0.1"}


def fail(message):
    print(f"demo-check: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def say(message):
    print(f"demo-check: {message}", file=sys.stderr)


def load_yaml(path):
    try:
        import yaml
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "pyyaml"], check=True)
        import yaml
    return yaml.safe_load(path.read_text())


def dotenv(path):
    """KEY=value lines, as Compose reads an env_file (no quotes are used in .env.example)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def interpolate(text, env):
    """Compose's ${NAME}, ${NAME:-default} (empty counts as unset) and ${NAME-default}."""

    def one(match):
        name, op, default = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name)
        if op == ":-":
            return value if value else default
        if op == "-":
            return value if value is not None else default
        return value or ""

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}", one, str(text))


def local(value):
    """Docker's network names and all-interfaces binds, as this machine reaches them."""
    for host, ip in HOSTS.items():
        value = re.sub(rf"//{host}:", f"//{ip}:", value)
    return value.replace("0.0.0.0:", "127.0.0.1:")


def service_env(service, env):
    return {k: local(interpolate(v, env)) for k, v in (service.get("environment") or {}).items()}


def wait_for(url, process, name):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"{name} exited with {process.returncode}; see its log above")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    fail(f"{name} did not answer {url} within 60 s")


class Browser:
    """Cookies per host and redirects followed by hand, so each hop can be checked."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def request(self, url, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            answer = self.opener.open(urllib.request.Request(url, data=body), timeout=10)
        except urllib.error.HTTPError as e:
            answer = e
        return answer.status, answer.headers, answer.read().decode("utf-8", "replace")

    def follow(self, url, data=None, limit=10):
        """Requests url and follows redirects; returns the final URL, status and body."""
        for _ in range(limit):
            status, headers, body = self.request(url, data)
            data = None
            if status in (301, 302, 303, 307, 308):
                url = urllib.parse.urljoin(url, headers["Location"])
                continue
            return url, status, body
        fail(f"more than {limit} redirects from {url}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def hidden(body, name):
    match = re.search(rf'name="{name}" value="([^"]*)"', body)
    if not match:
        fail(f"no {name} field in the page:\n{body[:2000]}")
    return html.unescape(match.group(1))


def main():
    compose = load_yaml(ROOT / "docker-compose.yml")["services"]
    env = dotenv(ROOT / ".env.example")
    env["DEV_MODE"] = "true"  # the README's one edit

    say("building the provider and the examples")
    subprocess.run(["cargo", "build", "--locked", "--quiet", "--bin", "identity-backend"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--locked", "--quiet"], cwd=ROOT / "examples", check=True)
    provider_bin = ROOT / "target/debug/identity-backend"
    examples = ROOT / "examples/target/debug"

    work = Path(tempfile.mkdtemp(prefix="demo-check-"))
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    # The provider: the .env (env_file) under the service's `environment` (which wins).
    provider = compose["identity-backend"]
    provider_env = {**base, **env, **service_env(provider, env)}
    provider_env["DATABASE_URL"] = f"sqlite://{work}/identity.db"
    gateway_env = {**base, **service_env(compose["gateway"], env)}
    resource_env = {**base, **service_env(compose["resource-server"], env)}

    processes = []
    logs = {}

    def start(name, argv, environment):
        log = open(work / f"{name}.log", "w+")
        logs[name] = log
        process = subprocess.Popen(argv, env=environment, stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    try:
        issuer = provider_env["JWT_ISSUER"]
        p = start("identity-backend", [str(provider_bin), "start"], provider_env)
        wait_for(f"{issuer}/ping", p, "identity-backend")
        r = start("resource-server", [str(examples / "resource-server")], resource_env)
        wait_for(f"http://{resource_env['BIND_ADDR']}/ping", r, "resource-server")
        g = start("gateway", [str(examples / "gateway")], gateway_env)
        wait_for(f"http://{gateway_env['BIND_ADDR']}/ping", g, "gateway")
        walk_through(gateway_env["BASE_URL"], issuer, logs["identity-backend"])
        say("the demo profile works as the README describes")
    except BaseException:  # a failed check, or an error on the way: show the services' logs
        for name, log in logs.items():
            log.seek(0)
            print(f"----- {name} -----\n{log.read()[-4000:]}", file=sys.stderr)
        raise
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)


def walk_through(gateway, issuer, provider_log):
    provider_log.flush()
    provider_log.seek(0)
    banner = re.search(r"demo user\s+(\S+)\s+password\s+(\S+)", provider_log.read())
    if not banner:
        fail("the provider's log shows no demo user and password")
    username, password = banner.groups()

    browser = Browser()
    say(f"opening {gateway}/: the gateway sends the browser to the sign-in page")
    url, status, page = browser.follow(f"{gateway}/")
    if status != 200 or not url.startswith(f"{issuer}/authorize") or 'name="password"' not in page:
        fail(f"expected the provider's sign-in page, got {status} at {url}")

    say(f"signing in as {username}")
    form = {
        "csrf_token": hidden(page, "csrf_token"),
        "request_id": hidden(page, "request_id"),
        "username": username,
        "password": password,
        "action": "sign_in",
    }
    url, status, page = browser.follow(f"{issuer}/login", form)
    if status != 200 or not url.startswith(gateway) or username not in page:
        fail(f"expected the gateway's page naming {username}, got {status} at {url}:\n{page[:2000]}")

    csrf = hidden(page, "csrf")

    say("calling the resource server through the gateway with the user's token")
    url, status, page = browser.follow(f"{gateway}/resource")
    if status != 200 or "<strong>200" not in page or "&quot;sub&quot;" not in page:
        fail(f"the resource server did not accept the user's token:\n{page[:2000]}")
    url, status, page = browser.follow(f"{gateway}/resource/log", {"csrf": csrf})
    if status != 200 or "<strong>201" not in page:
        fail(f"POST /log with the user's token was not accepted:\n{page[:2000]}")

    say("signing out at the gateway, which signs out at the provider too")
    url, status, page = browser.follow(f"{gateway}/logout", {"csrf": csrf})
    if status != 200 or not url.startswith(f"{gateway}/?") or "signed out" not in page.lower():
        fail(f"expected the gateway's signed-out page, got {status} at {url}:\n{page[:2000]}")
    url, status, page = browser.follow(f"{gateway}/")
    if not url.startswith(f"{issuer}/authorize") or 'name="password"' not in page:
        fail(f"after signing out the provider still knew the browser: {status} at {url}")


if __name__ == "__main__":
    main()
