"""A resource server in the role of the platform's logging-backend, in Python.

POST /log accepts {"service", "level", "message", "context"} only with an
`Authorization: Bearer` JWT from identity-backend for our audience, checked locally
against the issuer's JWKS with PyJWT's PyJWKClient. GET /whoami returns the verified
claims. See README.md beside this file.

Environment: ISSUER (required, e.g. http://localhost:5002), AUDIENCE (default
logging-service), JWKS_URI (default: the jwks_uri from discovery), HOST (default
127.0.0.1), PORT (default 5003).
"""

import json
import os
import urllib.request
from functools import wraps

import jwt
from flask import Flask, g, jsonify, request

ISSUER = os.environ["ISSUER"]
AUDIENCE = os.environ.get("AUDIENCE", "logging-service")
LEEWAY_SECONDS = 30


def discover_jwks_uri(issuer: str) -> str:
    """The jwks_uri of the issuer's discovery document (OIDC Discovery 1.0 §4)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    with urllib.request.urlopen(url, timeout=5) as response:
        metadata = json.load(response)
    # §4.3: the document must name the very issuer we asked for.
    if metadata.get("issuer") != issuer:
        raise RuntimeError(f"{url} names issuer {metadata.get('issuer')!r}, not {issuer!r}")
    return metadata["jwks_uri"]


# The JWKS is cached for 5 minutes (identity-backend's max-age). A token naming an unknown
# kid (a rotated key) refetches it, at most once per 30 s (cooldown_duration), so made-up
# kids cannot turn us into a load on the provider. No per-kid cache (cache_keys): it never
# expires, so a key withdrawn from the JWKS would keep verifying until a restart.
jwks = jwt.PyJWKClient(
    os.environ.get("JWKS_URI") or discover_jwks_uri(ISSUER),
    cache_jwk_set=True,
    lifespan=300,
    cooldown_duration=30,
    timeout=5,
)

app = Flask(__name__)


def refuse(status: int, error: str | None, description: str):
    """An RFC 6750 §3 answer: a bare challenge without a token, else one with the error."""
    challenge = "Bearer"
    if error:
        quoted = description.replace("\\", "").replace('"', "")
        challenge = f'Bearer error="{error}", error_description="{quoted}"'
    body = {"error": error or "unauthorized", "error_description": description}
    return jsonify(body), status, {"WWW-Authenticate": challenge}


def require_bearer(view):
    """Lets the request through only with a valid token; its claims are in g.claims."""

    @wraps(view)
    def guarded(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return refuse(401, None, "no bearer token")
        token = token.strip()
        if not token or " " in token:
            return refuse(400, "invalid_request", "a malformed bearer token")
        try:
            key = jwks.get_signing_key_from_jwt(token)  # by kid, from the cached JWKS
            # The key decides the algorithm, never the token's header. A symmetric key in a
            # public JWKS would be no secret: refuse it.
            if key.algorithm_name.startswith("HS"):
                raise jwt.InvalidTokenError("symmetric keys are not accepted")
            g.claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWKClientConnectionError as error:
            # The provider is unreachable and no keys are cached: not the token's fault.
            app.logger.warning("JWKS unavailable: %s", error)
            return jsonify({"error": "temporarily_unavailable"}), 503, {"Retry-After": "5"}
        except jwt.PyJWTError as error:
            app.logger.info("bearer token refused: %s", error)
            return refuse(401, "invalid_token", str(error))
        return view(*args, **kwargs)

    return guarded


@app.post("/log")
@require_bearer
def post_log():
    entry = request.get_json(silent=True)
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(field), str) for field in ("service", "level", "message")
    ):
        return jsonify({"error": "invalid_request",
                        "error_description": "expected JSON with service, level, message"}), 400
    context = entry.get("context")
    context = "" if context is None else " " + json.dumps(context)
    print(f"[{entry['level'].upper()}] {entry['service']}: {entry['message']}{context}"
          f" (sub={g.claims.get('sub', '-')})", flush=True)
    return jsonify({"status": "logged"}), 201


@app.get("/whoami")
@require_bearer
def whoami():
    return jsonify(g.claims)


@app.get("/ping")
def ping():
    return "OK"


if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5003")))
