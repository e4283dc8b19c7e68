# Ports for the servers the test scripts start, sourced by them. Below Linux's ephemeral range (32768–60999), where
# outgoing connections take ports, and below the range the Swift tests hand out (20000–31999): 10000–19979, at random
# so that two runs on one machine rarely meet. Never checked and then used: the server binds the port itself, and a
# start that finds it taken is tried again on another (`on_free_port`).

# on_free_port NAME START_FUNCTION: calls START_FUNCTION PORT with random ports until it succeeds (0), fails for
# another reason than a taken port (anything but 75), or 20 ports were taken. TRELLIS_TEST_<NAME>_PORT fixes the port.
on_free_port() {
  local name=$1 start=$2 fixed port status
  fixed=$(printenv "TRELLIS_TEST_${name}_PORT" || true)
  for _ in $(seq 20); do
    port=${fixed:-$((10000 + RANDOM % 9980))}
    status=0
    "$start" "$port" || status=$?
    [ "$status" -eq 75 ] || return "$status"
    [ -z "$fixed" ] || { echo "ports: $port (TRELLIS_TEST_${name}_PORT) is taken" >&2; return 1; }
    echo "ports: $port was taken; trying another" >&2
  done
  echo "ports: no free port found for $name" >&2
  return 1
}

# listening PORT: whether something accepts connections on 127.0.0.1:PORT (to tell, after a start failed, whether the
# port was taken).
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
