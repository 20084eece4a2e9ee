#!/bin/bash
# The container's health probe: `GET /readyz` on loopback, healthy on a 200 only. Uses bash's
# /dev/tcp, so the runtime image needs no curl. Usage: earful-healthcheck [PORT]
set -eu
port="${1:-7878}"
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
read -r -t 5 _version status _reason <&3
[ "${status}" = 200 ]
