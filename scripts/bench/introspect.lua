-- RFC 7662 with HTTP Basic client authentication.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
wrk.body = "token=" .. os.getenv("BENCH_TOKEN")
