# Shell helpers for scripts that start a picostackd of their own (the e2e
# tests, the API benchmarks); source this file.

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_healthy PORT: until picostackd on PORT answers /healthcheck (up to
# 20 s); 1 if it never did.
wait_healthy() {
  local _
  for _ in $(seq 400); do
    curl -sf "http://127.0.0.1:$1/healthcheck" >/dev/null && return 0
    sleep 0.05
  done
  return 1
}
