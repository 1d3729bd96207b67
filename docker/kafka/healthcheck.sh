#!/bin/bash
# Healthy when the broker answers a Kafka ApiVersions request on 127.0.0.1:9092, which it does
# only once it serves requests. Plain bash (no JVM start every few seconds).
exec 3<>/dev/tcp/127.0.0.1/9092 || exit 1
# Request: size 12 | api_key 18 (ApiVersions) | version 0 | correlation id "xbku" | client id "hc"
printf '\x00\x00\x00\x0c\x00\x12\x00\x00xbku\x00\x02hc' >&3
# Response: size (4) | correlation id (4) | error code (2, 0 = none) | ...
reply=$(timeout 2 head -c 10 <&3 | od -An -tx1 | tr -d ' \n')
[ "${reply:8:12}" = "78626b750000" ]
