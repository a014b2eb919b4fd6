-- The first version's /verify: {"token", "aud"}.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"token":"%s","aud":"%s"}', os.getenv("BENCH_TOKEN"), os.getenv("BENCH_AUD"))
